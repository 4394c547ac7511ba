"""The producers: a simulated omnichannel shop, channel adapters, CSV import and replay.

Everything here ends as common events on Kafka; nothing reads MongoDB. Entry points:
``simulator.simulate`` (a deterministic event iterator), ``runner.run_generator`` (paced
publishing, behind ``shelfcast generate``/``up``/``bench``), ``replay.replay_file`` and
``csv_import.import_csv``. They are not re-exported here, so importing the Kafka-free parts
(simulator, channels) does not pull in the Kafka client.
"""
