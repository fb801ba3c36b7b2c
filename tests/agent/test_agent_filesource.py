import json

from agent_testkit import procedure

from agent.filesource import JsonlTailer
from agent.spool import Spool


def line(obj):
    return (json.dumps(obj) + "\n").encode()


def test_tail_partial_lines_invalid_lines_and_restart(tmp_path):
    path = tmp_path / "events.jsonl"
    db = tmp_path / "s.db"
    proc = {
        "kind": "procedure",
        "idempotency_key": "1.2.3",
        "occurred_at": "2026-11-29T10:15:00Z",
        "data": procedure("1.2.3"),
    }
    beat = {"kind": "heartbeat", "occurred_at": "2026-11-29T10:16:00Z", "data": {"uptime_s": 10, "gpu_power_w": 212.5}}
    path.write_bytes(line(proc) + b"not json\n" + line(beat)[:20])
    with Spool(db) as spool:
        tail = JsonlTailer(path, spool, device_id="CT01")
        assert tail.poll() == 1 and tail.skipped == 1
        with open(path, "ab") as fh:
            fh.write(line(beat)[20:])
        assert tail.poll() == 1
        assert tail.poll() == 0
    with Spool(db) as spool:  # restart: nothing re-read
        tail = JsonlTailer(path, spool, device_id="CT01")
        assert tail.poll() == 0
        events = spool.pending()
        assert [e.kind for e in events] == ["procedure", "heartbeat"]
        assert events[1].idempotency_key == "hb-CT01-2"
        assert events[1].data["gpu_power_w"] == "212.5"  # parsed as Decimal, not float
        # truncated / rotated file is read from the start
        path.write_bytes(line(beat))
        assert tail.poll() == 1


def test_procedure_without_key_is_skipped(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_bytes(line({"kind": "procedure", "data": procedure("x")}))
    with Spool(tmp_path / "s.db") as spool:
        tail = JsonlTailer(path, spool, device_id="d")
        assert tail.poll() == 0 and tail.skipped == 1
