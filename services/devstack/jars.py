"""Fetching the embedded stack's jars with Maven, once, into a cache folder under the project."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

POM = Path(__file__).with_name("pom.xml")


class EmbeddedStackError(RuntimeError):
    """The embedded stack cannot start; the message says what to install or look at."""


def require_tool(name: str, why: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise EmbeddedStackError(
            f"'{name}' is not on PATH: it is needed to {why}. Install Java 17 and Maven (apt-get install "
            "openjdk-17-jdk-headless maven)."
        )
    return path


def ensure_jars(cache_dir: Path) -> Path:
    """Return the folder holding every jar, running ``mvn dependency:copy-dependencies`` if it is empty."""
    stamp = cache_dir / ".complete"
    if stamp.is_file() and stamp.read_text() == POM.read_text():
        return cache_dir
    mvn = require_tool("mvn", "fetch the Kafka and mongo-java-server jars from Maven Central")
    cache_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies", f"-DoutputDirectory={cache_dir.resolve()}"],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise EmbeddedStackError(
            f"Maven could not fetch the embedded stack's jars:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    stamp.write_text(POM.read_text())
    return cache_dir
