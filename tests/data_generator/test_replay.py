"""``shelfcast replay`` against the real broker: valid records published, invalid ones dead-lettered with a reason."""

from __future__ import annotations

import json
from collections import Counter

from services.common.events import event_to_bytes, parse_event
from services.data_generator.recording import parse_record, record_line
from tests.data_generator.conftest import last_json_line, messages_on, shelfcast
from tests.topic_reading import read_records


def record_stream(tmp_path, capsys, events: int = 3000):
    path = tmp_path / "recorded.jsonl"
    assert (
        shelfcast(
            "generate",
            "--rate",
            "1000",
            "--duration",
            str(events / 1000),
            "--seed",
            "5",
            "--start",
            "2026-03-02",
            "--out",
            str(path),
            "--no-publish",
        )
        == 0
    )
    capsys.readouterr()
    return path


def test_replay_max_publishes_every_valid_line_and_dead_letters_the_rest_with_a_reason(cli_settings, capsys, tmp_path):
    path = record_stream(tmp_path, capsys)
    valid = path.read_bytes().splitlines()
    bare = json.loads(valid[-1])["event"] | {"event_id": "0b8f7a52-1f0e-4d7e-9d43-5a0c6f1e2b3c"}
    with path.open("ab") as handle:
        handle.write(b"this is not json\n")  # line 3001
        handle.write(b'{"t": 3.5, "event": {"event_type": "order", "channel": "online"}}\n')  # line 3002
        handle.write(b"\n")
        handle.write(json.dumps(bare).encode() + b"\n")  # line 3004: a bare event is fine
        handle.write(b'{"t": -1, "event": ' + json.dumps(bare).encode() + b"}\n")  # line 3005

    assert shelfcast("replay", str(path), "--max") == 0
    line, err = last_json_line(capsys)
    summary = json.loads(line)
    assert (summary["events"], summary["invalid_lines"]) == (3001, 3)
    assert "3005/3005" in err  # the progress bar went to stderr and finished

    records = read_records(cli_settings, cli_settings.topics.ingest, 3001)
    replayed = [parse_event(r.value) for r in records]
    assert len(replayed) == 3001 and dict(Counter(e.event_type for e in replayed)) == summary["by_type"]
    assert {e.event_id for e in replayed} == {parse_event(json.loads(ln)["event"]).event_id for ln in valid} | {
        parse_event(bare).event_id
    }

    dead = read_records(cli_settings, [cli_settings.topics.dead_letter], 3)
    reasons = sorted(dict(r.headers)["reason"].decode() for r in dead)
    assert len(dead) == 3
    assert reasons[0].startswith("line 3001: not valid JSON")
    assert reasons[1].startswith("line 3002: invalid event: ")
    assert reasons[2] == "line 3005: 't' must be a non-negative number of seconds, got -1"
    assert {r.value for r in dead} >= {b"this is not json"}
    assert all(dict(r.headers)["source"].startswith(b"replay:recorded.jsonl:") for r in dead)


def test_replay_keeps_the_recorded_pace_scaled_by_speed(cli_settings, capsys, tmp_path):
    path = tmp_path / "paced.jsonl"
    events = [parse_record(line)[1] for line in record_stream(tmp_path, capsys, 20).read_bytes().splitlines()]
    path.write_bytes(b"".join(record_line(i * 0.05, event_to_bytes(e)) for i, e in enumerate(events)))  # spans 0.95 s
    assert shelfcast("replay", str(path), "--speed", "2") == 0
    summary = json.loads(last_json_line(capsys)[0])
    assert summary["events"] == 20 and summary["seconds"] >= 0.95 / 2  # pacing can only make it slower, never faster
    assert messages_on(cli_settings, cli_settings.topics.ingest) == 20


def test_replay_of_a_missing_file_is_a_one_line_error(capsys, tmp_path):
    assert shelfcast("replay", str(tmp_path / "nope.jsonl"), "--max") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read" in err and "nope.jsonl" in err
