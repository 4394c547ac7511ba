"""The embedded stack: real Kafka and a MongoDB wire-protocol server run from Maven Central jars."""

from services.devstack.stack import EmbeddedStack

__all__ = ["EmbeddedStack"]
