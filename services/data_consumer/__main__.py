from services.data_consumer.main import main

main()
