"""The data consumer: validates events from Kafka, stores each once, moves stock, keeps rollups."""
