"""Code every Shelfcast service shares: event schemas, settings, the Kafka bus, the Mongo store, metrics."""
