#!/usr/bin/env python
"""Benchmark the clinic device list page: a clinic with 1,000 devices in a throwaway
database, the page rendered N times, SQL queries counted and render time reported.

    .venv/bin/python scripts/bench_device_list.py [--devices 1000] [--runs 30]
    .venv/bin/python scripts/bench_device_list.py --smoke     # seconds: 20 devices, 2 runs (CI)

Uses the test settings. SQLite goes to a temporary folder; with DATABASE_URL set, a
throwaway test_<name> database is created on that server and dropped afterwards."""

import argparse
import os
import pathlib
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks it runs end to end")
    args = parser.parse_args()
    if args.smoke:
        args.devices, args.runs = 20, 2

    tmp = tempfile.TemporaryDirectory(prefix="medrwa-bench-")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["MEDRWA_VAR_DIR"] = tmp.name
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from accounts.tests.factories import make_user
        from assets.models import Appraisal, Device, DevicePhoto
        from assets.tests.factories import DeviceFactory
        from core.roles import Role

        admin = make_user(Role.CLINIC_ADMIN)
        appraiser = make_user(Role.APPRAISER)
        org = admin.memberships.first().organization
        statuses = ["draft", "submitted", "appraised", "certified"]
        Device.objects.bulk_create(
            DeviceFactory.build(organization=org, serial_number=f"BENCH{i:05d}", status=statuses[i % 4])
            for i in range(args.devices))
        ids = list(Device.objects.values_list("pk", flat=True))
        # Every other device has a photo row and every fourth a signed appraisal, so the
        # per-row annotations have something to find.
        DevicePhoto.objects.bulk_create(
            DevicePhoto(device_id=pk, image="x.jpg", thumbnail="x_t.jpg", width=1, height=1, sha256="0" * 64)
            for pk in ids[::2])
        Appraisal.objects.bulk_create(
            Appraisal(device_id=pk, appraiser=appraiser, status="signed", client="c", intended_users="u",
                      intended_use="u", value_definition="v", effective_date="2026-01-01",
                      cost_value="1.00", reconciled_value="123456.78")
            for pk in ids[::4])

        client = Client()
        client.force_login(admin)
        pages = max(1, -(-args.devices // 100))
        scenarios = [("first page", "/devices/"), ("last page", f"/devices/?page={pages}"),
                     ("status filter", "/devices/?status=certified"),
                     ("search", f"/devices/?q=BENCH{(args.devices - 1) // 10:04d}")]  # the last ten serials
        rows = []
        for name, url in scenarios:
            client.get(url)  # warm caches, template loading
            times, queries = [], set()
            for _ in range(args.runs):
                with CaptureQueriesContext(connection) as ctx:
                    t0 = time.perf_counter()
                    resp = client.get(url)
                    times.append((time.perf_counter() - t0) * 1000)
                assert resp.status_code == 200, resp.status_code
                queries.add(len(ctx))
            times.sort()
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            nrows = resp.content.count(b"<tr>") - 1
            # A page that lists nothing (or markup the count no longer sees) measures nothing.
            assert nrows > 0, f"{url} lists no device rows"
            rows.append((name, url, nrows, "/".join(map(str, sorted(queries))),
                         statistics.median(times), p95))
        vendor = connection.vendor
        print(f"Device list benchmark{' (SMOKE: tiny sizes)' if args.smoke else ''}: {args.devices} devices, "
              f"{args.runs} runs per row, {vendor}")
        print(f"{'scenario':<15} {'url':<28} {'rows':>5} {'queries':>8} {'median ms':>10} {'p95 ms':>8}")
        for name, url, nrows, q, med, p95 in rows:
            print(f"{name:<15} {url:<28} {nrows:>5} {q:>8} {med:>10.1f} {p95:>8.1f}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        tmp.cleanup()


if __name__ == "__main__":
    main()
