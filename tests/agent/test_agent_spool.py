import subprocess
import sys
import textwrap
import threading
from decimal import Decimal

import pytest
from agent_testkit import procedure, spool_fixture  # noqa: F401

from agent.events import EventError
from agent.spool import Spool


def hb(s, n=0):
    return s.append(
        kind="heartbeat",
        data={"uptime_s": n, "gpu_power_w": Decimal("212.5")},
        occurred_at="2026-11-29T10:16:00Z",
        idempotency_key=lambda q: f"hb-d-{q}",
    )


def test_seq_strictly_increasing_and_ordered(spool):
    seqs = [hb(spool, i) for i in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    events = spool.pending(10)
    assert [e.seq for e in events] == seqs
    assert [e.idempotency_key for e in events] == [f"hb-d-{i}" for i in seqs]
    assert events[0].data["gpu_power_w"] == "212.5"  # decimals travel as strings


def test_seq_never_reused_after_removal_or_reopen(tmp_path):
    path = tmp_path / "s.db"
    with Spool(path) as s:
        for i in range(3):
            hb(s, i)
        s.remove([1, 2, 3])
        assert s.depth() == 0
    with Spool(path) as s:
        assert s.last_seq() == 3
        assert hb(s) == 4


def test_persistence_across_reopen(tmp_path):
    path = tmp_path / "s.db"
    with Spool(path) as s:
        s.append(kind="procedure", data=procedure("1.2.3"), occurred_at="2026-11-29T10:10:00Z", idempotency_key="1.2.3")
        hb(s)
    with Spool(path) as s:
        events = s.pending()
        assert [(e.seq, e.kind) for e in events] == [(1, "procedure"), (2, "heartbeat")]
        assert events[0].data["gpu_energy_j"] == "31200.0"


def test_killed_process_loses_nothing(tmp_path):
    path = tmp_path / "s.db"
    code = textwrap.dedent(f"""
        import os
        from agent.spool import Spool
        s = Spool({str(path)!r})
        for i in range(20):
            s.append(kind="heartbeat", data={{"uptime_s": i}},
                     occurred_at="2026-11-29T10:00:00Z", idempotency_key=lambda q: f"hb-{{q}}")
        os._exit(9)  # no close, no cleanup: like kill -9
    """)
    subprocess.run([sys.executable, "-c", code], check=False, cwd=str(_repo_root()))
    with Spool(path) as s:
        assert s.depth() == 20
        assert hb(s) == 21


def test_duplicate_key_is_not_spooled_twice(spool):
    a = spool.append(kind="procedure", data=procedure("9.9"), occurred_at="2026-11-29T10:10:00Z", idempotency_key="9.9")
    b = spool.append(kind="procedure", data=procedure("9.9"), occurred_at="2026-11-29T10:10:00Z", idempotency_key="9.9")
    assert a == b and spool.depth() == 1


def test_invalid_events_refused(spool):
    bad = procedure("x") | {"status": "IN PROGRESS"}
    with pytest.raises(EventError):
        spool.append(kind="procedure", data=bad, occurred_at="2026-11-29T10:10:00Z", idempotency_key="x")
    with pytest.raises(EventError):
        spool.append(
            kind="procedure",
            data=procedure("y") | {"gpu_energy_j": "-1"},
            occurred_at="2026-11-29T10:10:00Z",
            idempotency_key="y",
        )
    assert spool.depth() == 0 and spool.last_seq() == 0


def test_rejected_go_to_dead_letter(spool):
    hb(spool)
    hb(spool)
    spool.remove([1, 2], rejected={2: "invalid: nope"})
    assert spool.depth() == 0
    assert [(r["seq"], r["reason"]) for r in spool.rejected()] == [(2, "invalid: nope")]


def test_concurrent_appends_from_threads_and_a_second_connection(tmp_path):
    path = tmp_path / "s.db"
    a, b = Spool(path), Spool(path)
    try:
        threads = [threading.Thread(target=lambda s=s: [hb(s) for _ in range(25)]) for s in (a, a, b, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seqs = [e.seq for e in a.pending(1000)]
        assert seqs == list(range(1, 101))
    finally:
        a.close()
        b.close()


def _repo_root():
    from pathlib import Path

    return Path(__file__).resolve().parents[2]


def test_several_openers_of_a_new_spool_at_once(tmp_path):
    """The MPPS receiver and the uploader open the same new spool together: SQLite refuses the
    switch to WAL at once ("locked") to all but one of them unless they retry."""
    for i in range(30):
        errors: list[BaseException] = []

        def open_it(path=tmp_path / f"s{i}.db", errors=errors):
            try:
                with Spool(path) as spool:
                    spool.append(kind="heartbeat", data={}, occurred_at="2026-11-29T10:00:00Z",
                                 idempotency_key=lambda seq: f"hb-{seq}")
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        with Spool(tmp_path / f"s{i}.db") as spool:
            assert spool.depth() == 4
