"""``shelfcast generate`` against the session's real Kafka broker, and its file-only mode."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest

from services.common.bus import partition_key
from services.common.events import parse_event
from services.common.settings import load_settings
from services.data_generator.recording import parse_record
from services.data_generator.runner import run_generator
from tests.data_generator.conftest import last_json_line, shelfcast
from tests.topic_reading import read_records

START = "2026-03-02T08:00:00Z"


def test_generate_publishes_the_stream_to_kafka_where_every_event_parses(cli_settings, capsys, tmp_path):
    out = tmp_path / "stream.jsonl"
    assert (
        shelfcast("generate", "--rate", "2500", "--duration", "2", "--seed", "7", "--start", START, "--out", str(out))
        == 0
    )
    line, _ = last_json_line(capsys)
    summary = json.loads(line)
    assert summary["events"] == 5000 and sum(summary["by_type"].values()) == 5000
    assert (
        0 < summary["events_per_s"] <= 2500 * 1.01
    )  # the schedule never runs ahead of --rate; speed itself is not asserted
    assert (summary["seed"], summary["start"]) == (7, "2026-03-02T08:00:00+00:00")

    records = read_records(cli_settings, cli_settings.topics.ingest, 5000)
    events = [parse_event(r.value) for r in records]
    assert len(events) == 5000
    assert dict(Counter(e.event_type for e in events)) == summary["by_type"]
    assert all(
        r.topic == cli_settings.topics.for_event_type(e.event_type) and r.key == partition_key(e)
        for r, e in zip(records, events)
    )
    recorded = [parse_record(ln)[1] for ln in out.read_bytes().splitlines()]
    assert {e.event_id for e in recorded} == {e.event_id for e in events}


def test_generate_to_a_file_without_kafka_is_deterministic_and_records_send_offsets(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SHELFCAST_KAFKA_BOOTSTRAP", "127.0.0.1:1")  # proves nothing tries to connect
    files = {}
    for name, seed in (("a", "11"), ("b", "11"), ("c", "12")):
        files[name] = tmp_path / f"{name}.jsonl"
        assert (
            shelfcast(
                "generate",
                "--rate",
                "1000",
                "--duration",
                "3",
                "--seed",
                seed,
                "--start",
                START,
                "--out",
                str(files[name]),
                "--no-publish",
            )
            == 0
        )
    assert json.loads(last_json_line(capsys)[0])["published"] is False
    assert files["a"].read_bytes() == files["b"].read_bytes() != files["c"].read_bytes()
    records = [parse_record(ln) for ln in files["a"].read_bytes().splitlines()]
    assert len(records) == 3000
    assert [t for t, _ in records[:3]] == [0.0, 0.001, 0.002] and records[-1][0] == pytest.approx(2.999)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--rate", "0", "--duration", "1"],
            "argument --rate: must be a positive number of events per second, got '0'",
        ),
        (["--rate", "-5", "--duration", "1"], "argument --rate: must be a positive number"),
        (["--rate", "fast", "--duration", "1"], "argument --rate: expected a number of events per second, got 'fast'"),
        (["--rate", "10", "--duration", "0"], "argument --duration: must be a positive number of seconds, got '0'"),
        (["--rate", "10", "--duration", "1", "--start", "tomorrow"], "argument --start: expected an ISO date or time"),
    ],
)
def test_generate_rejects_invalid_rate_duration_and_start_with_a_clear_message(args, message, capsys):
    with pytest.raises(SystemExit) as exited:
        shelfcast("generate", *args)
    assert exited.value.code == 2 and message in capsys.readouterr().err


def test_generate_no_publish_without_out_is_a_one_line_error(capsys):
    assert shelfcast("generate", "--rate", "10", "--duration", "1", "--no-publish") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--no-publish needs --out" in err


def test_generate_reports_an_unreachable_broker_in_one_line(capsys, monkeypatch):
    monkeypatch.setenv("SHELFCAST_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    assert shelfcast("generate", "--rate", "10", "--duration", "1") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot reach Kafka at 127.0.0.1:1" in err


def test_run_generator_without_duration_runs_until_stopped_and_counts_what_it_wrote(tmp_path):
    out, stop, result = tmp_path / "open-ended.jsonl", threading.Event(), {}
    worker = threading.Thread(
        target=lambda: result.update(run_generator(load_settings(), 500, None, 3, stop, out=out, publish=False))
    )
    worker.start()
    deadline = time.monotonic() + 60
    while not (out.exists() and out.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.05)  # wait for the first events, however slow the machine, then stop
    stop.set()
    worker.join(30)
    assert result["events"] > 0 and result["events"] == len(out.read_bytes().splitlines())
