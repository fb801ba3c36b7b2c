"""Ingestion benchmark: signed 500-event batches through the real HTTP endpoint (gunicorn,
2 workers, signature checks included) into PostgreSQL, next to raw COPY of the same rows
into the same table as the ceiling.

    .venv/bin/python scripts/bench_ingest.py [--duration 20] [--clients 4] [--batch 500]

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/medrwa_bench (created and
migrated here). Bounded: stops by itself after about 2 × duration + setup.
Targets: HTTP ≥ 25 % of the COPY rate and p99 ≤ 200 ms per batch.
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


def copy_ceiling(n_rows: int, batch: int, device_id: int) -> tuple[int, float]:
    """COPY the same kind of rows (the same columns and JSON) in 500-row transactions."""
    from django.db import connection

    from telemetry.ingest import _COLUMNS
    from telemetry.models import TelemetryEvent
    from telemetry.schema import parse_dec, parse_ts

    received = datetime.now(UTC)
    batches = []
    for b in range(max(1, n_rows // batch)):
        rows = []
        for ev in make_events(1 + b * batch, batch, f"copy{device_id}", received):
            d = ev["data"]
            proc = ev["kind"] == "procedure"
            rows.append((device_id, ev["seq"], ev["kind"], ev["idempotency_key"], parse_ts(ev["occurred_at"]),
                         received, d["status"] if proc else "", d["cpt_code"] if proc else "",
                         parse_ts(d["started_at"]) if proc else None, parse_ts(d["ended_at"]) if proc else None,
                         parse_dec(d.get("gpu_seconds")), parse_dec(d.get("gpu_energy_j")), d.get("uptime_s"),
                         json.dumps(d, separators=(",", ":"))))
        batches.append(rows)
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
    args = ap.parse_args()
    db_url = os.environ.get("DATABASE_URL", DEFAULT_DB)
    if not db_url.startswith("postgres"):
        sys.exit("bench_ingest needs DATABASE_URL to point at PostgreSQL")
    ensure_database(db_url)
    env = {**os.environ, "DATABASE_URL": db_url, "DJANGO_SETTINGS_MODULE": "config.settings.dev", "DEBUG": "0",
           "LOG_LEVEL": "WARNING"}
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    setup_django(db_url)
    from django.db import connection

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
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/api/v1/telemetry/batches"
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
    copy_rows, copy_s = copy_ceiling(max(http_events, 50 * args.batch), args.batch, creds[-1][2])
    copy_rate = copy_rows / copy_s
    p50, p99 = pct(latencies, 50) * 1000, pct(latencies, 99) * 1000
    share = http_rate / copy_rate
    out = io.StringIO()
    out.write(f"\nIngestion benchmark: {args.batch}-event batches, {args.clients} clients, gunicorn "
              f"{args.workers} workers, PostgreSQL; {os.cpu_count()} CPUs\n\n")
    out.write("| path | events | seconds | events/s | p50 batch ms | p99 batch ms |\n|---|---:|---:|---:|---:|---:|\n")
    out.write(f"| HTTP POST /api/v1/telemetry/batches (signed) | {http_events} | {args.duration:.1f} | "
              f"{http_rate:,.0f} | {p50:.1f} | {p99:.1f} |\n")
    out.write(f"| raw COPY, {args.batch}-row transactions (ceiling) | {copy_rows} | {copy_s:.1f} | "
              f"{copy_rate:,.0f} | – | – |\n\n")
    out.write(f"HTTP / COPY = {share:.0%} (target ≥ 25%): {'met' if share >= 0.25 else 'NOT met'}\n")
    out.write(f"p99 = {p99:.0f} ms (target ≤ 200 ms): {'met' if p99 <= 200 else 'NOT met'}\n")
    if errors:
        out.write(f"{errors} batch(es) failed\n")
    sys.stdout.write(out.getvalue())
    return 0 if share >= 0.25 and p99 <= 200 and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
