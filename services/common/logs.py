"""One logging setup for every process, so lines from all services read alike."""

from __future__ import annotations

import logging


def configure_logging(level: str = "INFO") -> None:
    """Plain timestamped lines on stderr; kafka-python's chatter is kept at WARNING."""
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
