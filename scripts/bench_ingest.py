"""Ingestion benchmark: signed 500-event batches through the real HTTP endpoint (gunicorn,
2 workers, signature checks included) into PostgreSQL, next to raw COPY of the same rows
into the same table as the ceiling.

    .venv/bin/python scripts/bench_ingest.py [--duration 20] [--clients 2] [--batch 500]
    .venv/bin/python scripts/bench_ingest.py --smoke     # seconds, tiny sizes (CI)

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/medrwa_bench (created and
migrated here). Bounded: stops by itself after about 2 × duration + setup.
Targets: HTTP ≥ 25 % of the COPY rate and p99 ≤ 200 ms per batch.

The COPY rows are built by the ingest path itself (telemetry.ingest: its column list and
its row builder), so the ceiling writes exactly what the endpoint writes. The per-key rate
limit (TELEMETRY_BATCHES_PER_MINUTE, 120 batches a minute by default) is lifted for the
server under test (--rate-limit) and the table's caption says so.

--smoke runs the same path end to end (1 worker, 1 client, 50-event batches, ~2 s) and
exits non-zero only if something failed (a refused batch, a COPY error), never on the
figures.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/medrwa_bench"


def ensure_database(url: str) -> None:
    import psycopg

    u = urlparse(url)
    name = u.path.lstrip("/")
    admin = u._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def make_events(seq0: int, n: int, device: str, now: datetime) -> list[dict]:
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    out = []
    for i in range(n):
        seq = seq0 + i
        at = (now - timedelta(seconds=n - i)).strftime(fmt)
        if i % 5 == 0:
            start = (now - timedelta(seconds=n - i + 600)).strftime(fmt)
            out.append({"seq": seq, "kind": "procedure", "idempotency_key": f"1.2.826.0.1.{device}.{seq}",
                        "occurred_at": at, "data": {
                            "modality": "CT", "cpt_code": "74177", "status": "COMPLETED", "reason_code": None,
                            "started_at": start, "ended_at": at, "series_count": 3, "image_count": 812,
                            "dlp_mgycm": "612.4", "ctdivol_mgy": "11.2", "gpu_seconds": "95.5",
                            "gpu_energy_j": "31200.0", "station_ae": "CT01"}})
        else:
            out.append({"seq": seq, "kind": "heartbeat", "idempotency_key": f"hb-{device}-{seq}", "occurred_at": at,
                        "data": {"uptime_s": 86400 + seq, "gpu_util_pct": 37, "gpu_power_w": "212.5",
                                 "gpu_temp_c": 61, "gpu_mem_used_bytes": 8589934592,
                                 "gpu_mem_total_bytes": 25769803776, "gpu_energy_total_j": "123456.7",
                                 "xid_errors": 0, "ecc_errors": 0}})
    return out


def client(url: str, key_id: str, secret: str, device: str, batch: int, warmup_s: float, duration: float,
           start: mp.Event, ready: mp.Queue, out: mp.Queue) -> None:
    import requests

    from agent.signing import signed_headers

    # Bodies are built before the clock starts so the client's JSON work does not compete
    # for the CPUs with the server being measured; each is signed at send time.
    n_pre = int((warmup_s + duration) * 30) + 10
    now = datetime.now(UTC)
    bodies = [json.dumps({"events": make_events(1 + i * batch, batch, device, now)}, separators=(",", ":")).encode()
              for i in range(n_pre)]
    ready.put(device)
    start.wait()
    session = requests.Session()
    latencies, events, errors, i = [], 0, 0, 0
    t_start = time.monotonic()
    measure_from, deadline = t_start + warmup_s, t_start + warmup_s + duration
    while True:
        now_m = time.monotonic()
        if now_m >= deadline:
            break
        if i < len(bodies):
            body = bodies[i]
        else:
            body = json.dumps({"events": make_events(1 + i * batch, batch, device, datetime.now(UTC))},
                              separators=(",", ":")).encode()
        i += 1
        headers = signed_headers(key_id=key_id, secret=secret, body=body)
        t0 = time.perf_counter()
        r = session.post(url, data=body, headers=headers, timeout=30)
        dt = time.perf_counter() - t0
        ok = r.status_code == 200 and r.json().get("accepted") == batch
        if not ok:
            errors += 1
            if errors < 3:
                sys.stderr.write(f"bench client {device}: HTTP {r.status_code} {r.text[:300]}\n")
        if now_m >= measure_from:
            latencies.append(dt)
            events += batch if ok else 0
    out.put({"latencies": latencies, "events": events, "errors": errors, "seconds": duration})


def wait_ready(url: str, server: subprocess.Popen, timeout: float = 120.0) -> None:
    """Until the app itself answers (an unsigned batch is refused with 401): gunicorn opens
    its socket before its workers have loaded Django, and that boot is not ingestion time."""
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited with status {server.returncode}")
        try:
            if requests.post(url, data=b"{}", timeout=5).status_code == 401:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.2)
    sys.exit(f"the app did not answer on {url} within {timeout:.0f} s")


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))] if s else float("nan")


def setup_django(db_url: str):
    os.environ["DATABASE_URL"] = db_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.dev"
    os.environ["DEBUG"] = "0"
    import django

    django.setup()


def prepare(n_devices: int):
    from accounts.models import Membership, Organization, User
    from assets.models import Device
    from core.roles import Role
    from telemetry.services import credential_issue

    org, _ = Organization.objects.get_or_create(name="Bench Imaging", kind=Organization.Kind.CLINIC)
    admin = User.objects.filter(email="bench-admin@bench.local").first() or User.objects.create_user(
        email="bench-admin@bench.local", password=None, full_name="Bench Admin")
    Membership.objects.get_or_create(user=admin, organization=org, role=Role.CLINIC_ADMIN)
    creds = []
    stamp = int(time.time())
    for i in range(n_devices):
        device = Device.objects.create(organization=org, status="certified", modality="CT", manufacturer="Bench",
                                       model_name="CT", serial_number=f"BENCH-{stamp}-{i}", gpu_count=1)
        issued = credential_issue(actor=admin, device=device, label="bench")
        creds.append((issued.credential.key_id, issued.secret, device.pk))
    return creds


def copy_rows(events: list[dict], device_id: int, received: datetime) -> list[tuple]:
    """The rows the ingest path would INSERT for `events`, in its own column order
    (telemetry.ingest._COLUMNS, built by its _row): a column added to the table is added
    there, so the ceiling follows it instead of rotting. `data` goes to COPY as JSON text."""
    from telemetry.ingest import _COLUMNS, _row

    data_at = _COLUMNS.index("data")
    rows = []
    for ev in events:
        row, reason, _flags = _row(device_id, ev, received, 1, received)
        if row is None:
            raise RuntimeError(f"the ingest path rejects the bench's event {ev['seq']}: {reason}")
        row = list(row)
        row[data_at] = json.dumps(row[data_at], separators=(",", ":"))
        rows.append(tuple(row))
    return rows


def copy_ceiling(n_rows: int, batch: int, device_id: int) -> tuple[int, float]:
    """COPY the same rows the endpoint stores (same columns, same values, same JSON) in
    `batch`-row transactions."""
    from django.db import connection

    from telemetry.ingest import _COLUMNS
    from telemetry.models import TelemetryEvent

    received = datetime.now(UTC)
    batches = [copy_rows(make_events(1 + b * batch, batch, f"copy{device_id}", received), device_id, received)
               for b in range(max(1, n_rows // batch))]
    table = TelemetryEvent._meta.db_table
    connection.ensure_connection()
    raw = connection.connection
    t0 = time.perf_counter()
    for rows in batches:
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
    return sum(len(r) for r in batches), time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--clients", type=int, default=2, help="concurrent senders (default: one per worker)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--rate-limit", type=int, default=1_000_000,
                    help="TELEMETRY_BATCHES_PER_MINUTE for the server under test (per device key)")
    ap.add_argument("--skip-migrate", action="store_true", help="the database is already migrated")
    ap.add_argument("--smoke", action="store_true",
                    help="seconds, tiny sizes: checks the benchmark runs end to end; figures not gated")
    args = ap.parse_args()
    if args.smoke:
        args.duration, args.warmup, args.clients, args.workers, args.batch = 2.0, 0.5, 1, 1, 50
    db_url = os.environ.get("DATABASE_URL", DEFAULT_DB)
    if not db_url.startswith("postgres"):
        sys.exit("bench_ingest needs DATABASE_URL to point at PostgreSQL")
    ensure_database(db_url)
    env = {**os.environ, "DATABASE_URL": db_url, "DJANGO_SETTINGS_MODULE": "config.settings.dev", "DEBUG": "0",
           "LOG_LEVEL": "WARNING"}
    py = sys.executable
    if not args.skip_migrate:
        subprocess.run([py, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    setup_django(db_url)
    from django.conf import settings
    from django.db import connection

    configured_rate = settings.TELEMETRY_BATCHES_PER_MINUTE
    env["TELEMETRY_BATCHES_PER_MINUTE"] = str(args.rate_limit)

    with connection.cursor() as cur:  # a stable starting point: the bench database is ours
        cur.execute("TRUNCATE telemetry_plausibilityflag, telemetry_telemetryevent")
    creds = prepare(args.clients + 1)
    connection.close()

    port = free_port()
    gunicorn = Path(py).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "--workers", str(args.workers), "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
         "config.wsgi:application"], cwd=ROOT, env=env)
    try:
        url = f"http://127.0.0.1:{port}/api/v1/telemetry/batches"
        wait_ready(url, server)
        queue: mp.Queue = mp.Queue()
        ready: mp.Queue = mp.Queue()
        start = mp.Event()
        procs = [mp.Process(target=client, args=(url, key, secret, f"dev{pk}", args.batch, args.warmup,
                                                  args.duration, start, ready, queue))
                 for key, secret, pk in creds[: args.clients]]
        for p in procs:
            p.start()
        for _ in procs:
            ready.get(timeout=300)
        start.set()
        results = [queue.get(timeout=args.warmup + args.duration + 120) for _ in procs]
        for p in procs:
            p.join(30)
    finally:
        server.terminate()
        server.wait(30)

    latencies = [x for r in results for x in r["latencies"]]
    http_events = sum(r["events"] for r in results)
    errors = sum(r["errors"] for r in results)
    http_rate = http_events / args.duration
    copied, copy_s = copy_ceiling(max(http_events, 50 * args.batch), args.batch, creds[-1][2])
    copy_rate = copied / copy_s
    from telemetry.models import TelemetryEvent

    stored = TelemetryEvent.objects.count()  # both paths really wrote their rows
    p50, p99 = pct(latencies, 50) * 1000, pct(latencies, 99) * 1000
    share = http_rate / copy_rate
    out = io.StringIO()
    out.write(f"\nIngestion benchmark{' (SMOKE: tiny sizes, figures not gated)' if args.smoke else ''}: "
              f"{args.batch}-event batches, {args.clients} clients, gunicorn {args.workers} workers, PostgreSQL; "
              f"{os.cpu_count()} CPUs; per-key rate limit set for the run to TELEMETRY_BATCHES_PER_MINUTE="
              f"{args.rate_limit:,} (configured: {configured_rate:,} batches a minute per device key)\n\n")
    out.write("| path | events | seconds | events/s | p50 batch ms | p99 batch ms |\n|---|---:|---:|---:|---:|---:|\n")
    out.write(f"| HTTP POST /api/v1/telemetry/batches (signed) | {http_events} | {args.duration:.1f} | "
              f"{http_rate:,.0f} | {p50:.1f} | {p99:.1f} |\n")
    out.write(f"| raw COPY, {args.batch}-row transactions (ceiling) | {copied} | {copy_s:.1f} | "
              f"{copy_rate:,.0f} | – | – |\n\n")
    out.write(f"HTTP / COPY = {share:.0%} (target ≥ 25%): {'met' if share >= 0.25 else 'NOT met'}\n")
    out.write(f"p99 = {p99:.0f} ms (target ≤ 200 ms): {'met' if p99 <= 200 else 'NOT met'}\n")
    if errors:
        out.write(f"{errors} batch(es) failed\n")
    if not http_events:
        out.write("no batch was accepted\n")
    if stored < http_events + copied:
        out.write(f"only {stored} rows stored for {http_events} accepted + {copied} copied\n")
    sys.stdout.write(out.getvalue())
    if args.smoke:
        return 0 if http_events and not errors and stored >= http_events + copied else 1
    return 0 if share >= 0.25 and p99 <= 200 and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
