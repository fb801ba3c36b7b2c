#!/usr/bin/env python
"""Benchmark distributions off chain: the time to preview every holder's entitlement of a
deposit with 10,000 holders (ledger.distribution_entitlements over 10,000 indexed Transfer
events; target ≤ 1 s) and the time to render 1,000 investor statements
(statements.investor_statement_pdf) in the same world.

    .venv/bin/python scripts/bench_distributions.py [--holders 10000] [--statements 1000] [--investors 50]
    .venv/bin/python scripts/bench_distributions.py --smoke    # seconds: 200 holders, 3 statements (CI)

Uses the test settings and a throwaway SQLite database under a temporary MEDRWA_VAR_DIR.
The indexed events and the deposit's rows are inserted directly (as the indexer and the
deposit hook would write them); `--investors` investors (real profiles and custodial
wallets) are among the holders and their statements are rendered in turn. The offering has
exactly as many units as the holders hold (fully subscribed: the whole pool is theirs)."""

import argparse
import datetime as dt
import os
import pathlib
import statistics
import sys
import tempfile
import time
from decimal import Decimal

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--holders", type=int, default=10_000)
    parser.add_argument("--statements", type=int, default=1_000)
    parser.add_argument("--investors", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks it runs end to end")
    args = parser.parse_args()
    if args.smoke:
        args.holders, args.statements, args.investors, args.runs = 200, 3, 3, 1

    tmp = tempfile.TemporaryDirectory(prefix="medrwa-bench-")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["MEDRWA_VAR_DIR"] = tmp.name
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run(args)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        tmp.cleanup()


def run(args) -> None:
    from chain import gateway
    from chain.models import ChainEvent
    from compliance.tests.factories import make_profile
    from tokens import ledger
    from tokens.distributions import statements
    from tokens.tests.factories import make_live_offering
    from tokens.tests.test_statements import ZERO, World, _addr, _tx

    n_investors = min(args.investors, args.holders)
    rest = args.holders - n_investors
    units = 10 * n_investors + sum(1 + i % 97 for i in range(rest))  # what the mints below add up to
    world = World(make_live_offering(units=units, holder_cap=args.holders))
    investors = []
    for _ in range(n_investors):
        profile = make_profile()
        investors.append(profile.user)
        world.mint(gateway.to_checksum(profile.wallets.get().address), 10)
    first = world.block + 1
    ChainEvent.objects.bulk_create(
        (ChainEvent(contract=world.contract, block_number=first + i, tx_hash=_tx(), log_index=0, event="Transfer",
                    args={"from": ZERO, "to": _addr(), "value": 1 + i % 97}) for i in range(rest)),
        batch_size=2000)
    world.block = first + rest
    d = world.distribute(month=dt.date(2026, 1, 1), gross=Decimal("987654.32"))

    preview = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        ent = ledger.distribution_entitlements(d)
        preview.append(time.perf_counter() - t0)
    assert len(ent["holders"]) == args.holders, len(ent["holders"])
    magnified = sum(h["magnified"] for h in ent["holders"].values())
    assert magnified + int(d.dust_magnified_after) == int(d.deposited_base_units) * ent["magnitude"]

    statements.verify_url(d)  # the URLconf loads once per process: not a statement's cost
    t0 = time.perf_counter()
    one = statements.investor_statement_pdf(d, user=investors[0])
    single = time.perf_counter() - t0
    # A batch (e.g. the month's statements for every holder) shares one ledger of entitlements.
    memo = statements.EntitlementMemo()
    t0, c0 = time.perf_counter(), time.process_time()
    sizes = [len(one)]
    for i in range(args.statements):
        sizes.append(len(statements.investor_statement_pdf(d, user=investors[i % len(investors)], memo=memo)))
    render, cpu = time.perf_counter() - t0, time.process_time() - c0

    rows = [
        (f"preview entitlements, {args.holders:,} holders (median of {args.runs})",
         f"{statistics.median(preview):.3f} s", "≤ 1 s", "ok" if statistics.median(preview) <= 1 else "OVER"),
        ("render one investor statement (alone)", f"{single * 1000:.0f} ms", "", "entitlements read once"),
        (f"render {args.statements:,} investor statements (batch)", f"{render:.1f} s",
         f"{render / args.statements * 1000:.0f} ms each",
         f"{statistics.mean(sizes) / 1024:.1f} KiB avg, CPU {cpu:.1f} s (wall > CPU: a busy machine)"),
    ]
    width = max(len(r[0]) for r in rows)
    if args.smoke:
        print("Distributions benchmark (SMOKE: tiny sizes)")
    print(f"{'benchmark':{width}}  {'time':>10}  {'target / per item':>18}  note")
    for name, value, target, note in rows:
        print(f"{name:{width}}  {value:>10}  {target:>18}  {note}")


if __name__ == "__main__":
    main()
