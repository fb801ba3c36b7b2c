#!/usr/bin/env python
"""Verify a MedRWA revenue distribution independently of the platform.

    python scripts/verify_distribution.py REPORT_URL_OR_FILE --rpc URL [--factory ADDRESS]
                                          [--from-block N] [--abi PATH] [--detail DETAIL_URL_OR_FILE]

Stand-alone: needs only web3 and the committed ABI (contracts/build/SecurityToken.json);
it imports nothing of the platform. It trusts nothing it can read from the chain. It reads
the report's exact bytes, hashes them, finds the RevenueDistributed event on the report's
token whose indexed reportHash equals the hash, and checks:

- the token: its code is the factory's token for the report's device (`--factory`, the
  platform's published TokenFactory: `tokenForDevice(deviceId) == token` and
  `token.factory() == factory`), its deviceId is the report's;
- the terms: SHA-256 of the report's terms and N units (medrwa.terms/1) = the token's
  `termsHash()`, N = `totalUnits()`, so a report cannot claim other fees or another N;
- the money: the stablecoin is the token's `stablecoin()` and its `decimals()` are read from
  the chain; the waterfall recomputed from gross and terms equals every line (the holders'
  pool split into the part of the units investors held at the statement and the part the
  clinic kept), and the pool = holders × 10^decimals; the priced revenue lines (± the
  correction) add up to gross;
- the deposit: the event's pool = the report's, the per-unit increase = pool × MAGNITUDE ÷ N,
  the amount pulled = that increase × the supply at the block before, rounded up, the dust
  increase the remainder; pointsPerShare before equals the report's;
- every holder (from the token's Transfer logs, balanceOf at the deposit block): units add up
  to the units outstanding, and each is credited units / N of the pool within a base unit.

Inputs the chain cannot confirm (the reserve balance before the statement, the usage behind
gross, the token's provenance without --factory, the detail without --detail) are listed as
NOT VERIFIED instead of being trusted silently.

Prints a table of each holder's entitlement. Exit 0: every check passed; 1: a mismatch
(named); 2: usage or input errors (bad arguments, unreadable report, node unreachable)."""

from __future__ import annotations

import argparse
import hashlib
import json
import pathlib
import sys
import urllib.request
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_ABI = ROOT / "contracts" / "build" / "SecurityToken.json"
FACTORY_ABI = ROOT / "contracts" / "build" / "TokenFactory.json"
EXIT_OK, EXIT_MISMATCH, EXIT_USAGE = 0, 1, 2
SCHEMAS = ("medrwa.distribution-report/3",)
TERMS_SCHEMA = "medrwa.terms/1"
TERMS_FIELDS = ("platform_fee_pct", "reserve_pct", "reserve_target", "clinic_share_pct", "holders_share_pct",
                "includes_compute_revenue")
ERC20_DECIMALS_ABI = [{"type": "function", "name": "decimals", "stateMutability": "view", "inputs": [],
                       "outputs": [{"name": "", "type": "uint8"}]}]

# ----------------------------------------------------------------------------- waterfall
# A copy of tokens/waterfall.compute (the app suite asserts both give the same numbers).
HUNDRED = Decimal(100)
CENT = Decimal("0.01")


def _pct(amount: Decimal, pct: Decimal) -> Decimal:
    return (amount * pct / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Waterfall:
    gross: Decimal
    platform_fee: Decimal
    reserve: Decimal
    reserve_to_holders: Decimal
    clinic_share: Decimal
    holders_amount: Decimal
    amount_due: Decimal
    investors_amount: Decimal
    retained_amount: Decimal


def waterfall(*, gross: Decimal, platform_fee_pct: Decimal, reserve_pct: Decimal, reserve_target: Decimal,
              clinic_share_pct: Decimal, units_total: int, units_outstanding: int,
              reserve_balance: Decimal = Decimal(0)) -> Waterfall:
    gross = Decimal(gross).quantize(CENT, rounding=ROUND_HALF_UP)
    fee = _pct(gross, platform_fee_pct)
    nominal_reserve = _pct(gross, reserve_pct)
    if gross > 0:
        room = max(Decimal(0), reserve_target - reserve_balance)
        reserve = min(nominal_reserve, room)
    else:  # a correction gives back reserve only up to what is held
        reserve = max(nominal_reserve, -reserve_balance)
    clinic = _pct(gross, clinic_share_pct)
    holders = gross - fee - reserve - clinic
    if units_total <= 0 or not 0 <= units_outstanding <= units_total:
        raise UsageError(f"units: {units_outstanding} of {units_total}")
    investors = (holders * units_outstanding / units_total).quantize(CENT, rounding=ROUND_HALF_UP)
    retained = holders - investors
    return Waterfall(gross=gross, platform_fee=fee, reserve=reserve, reserve_to_holders=nominal_reserve - reserve,
                     clinic_share=clinic, holders_amount=holders, amount_due=gross - clinic - retained,
                     investors_amount=investors, retained_amount=retained)


def terms_hash(terms: dict, *, units: int, currency: str) -> str:
    """SHA-256 of the pinned terms (a copy of tokens/waterfall.terms_hash)."""
    pinned = {"schema": TERMS_SCHEMA, "units": int(units), "currency": currency}
    for k in TERMS_FIELDS:
        v = terms[k]
        pinned[k] = v if isinstance(v, bool) else str(Decimal(str(v)).quantize(CENT))
    return hashlib.sha256(json.dumps(pinned, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# ----------------------------------------------------------------------------- checks


class UsageError(Exception):
    pass


class Checks:
    def __init__(self):
        self.rows: list[tuple[str, bool, str]] = []
        self.unverified: list[str] = []

    def eq(self, name: str, expected, actual) -> bool:
        ok = expected == actual
        self.rows.append((name, ok, f"{actual}" if ok else f"expected {expected}, found {actual}"))
        return ok

    def true(self, name: str, ok: bool, detail: str) -> bool:
        self.rows.append((name, bool(ok), detail))
        return bool(ok)

    def cannot(self, what: str) -> None:
        self.unverified.append(what)

    def ok(self) -> bool:
        return all(r[1] for r in self.rows)

    def failures(self) -> list[str]:
        return [f"{n}: {d}" for n, ok, d in self.rows if not ok]


def read_report(source: str) -> bytes:
    if source.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(source, timeout=30) as resp:  # noqa: S310 - http(s) only, checked above
                return resp.read()
        except OSError as exc:
            raise UsageError(f"cannot download {source}: {exc}") from exc
    path = pathlib.Path(source)
    if not path.is_file():
        raise UsageError(f"no such file: {source}")
    return path.read_bytes()


def _dec(value, name: str) -> Decimal:
    try:
        return Decimal(str(value))
    except Exception as exc:
        raise UsageError(f"report field {name} is not a number: {value!r}") from exc


def check_waterfall(checks: Checks, report: dict, decimals: int) -> None:
    """The report's own arithmetic, with the stablecoin's decimals as read from the chain."""
    terms, wf, units = report["terms"], report["waterfall"], report["units"]
    w = waterfall(gross=_dec(report["gross"], "gross"),
                  platform_fee_pct=_dec(terms["platform_fee_pct"], "terms.platform_fee_pct"),
                  reserve_pct=_dec(terms["reserve_pct"], "terms.reserve_pct"),
                  reserve_target=_dec(terms["reserve_target"], "terms.reserve_target"),
                  clinic_share_pct=_dec(terms["clinic_share_pct"], "terms.clinic_share_pct"),
                  units_total=int(units["total"]), units_outstanding=int(units["outstanding_at_statement"]),
                  reserve_balance=_dec(wf.get("reserve_balance_before", "0"), "waterfall.reserve_balance_before"))
    shares = sum(_dec(terms[k], k) for k in ("platform_fee_pct", "reserve_pct", "clinic_share_pct",
                                             "holders_share_pct"))
    checks.eq("terms add up to 100%", Decimal(100), shares)
    for field in ("platform_fee", "reserve", "clinic_share", "holders_amount", "investors_amount",
                  "retained_amount", "amount_due"):
        checks.eq(f"waterfall {field}", getattr(w, field), _dec(wf[field], f"waterfall.{field}"))
    signed = {"gross": w.gross, "platform_fee": -w.platform_fee, "reserve": -w.reserve,
              "clinic_share": -w.clinic_share, "holders": w.holders_amount, "retained": -w.retained_amount,
              "investors": w.investors_amount}
    for line in wf.get("lines", []):
        if line.get("line") in signed:
            checks.eq(f"waterfall line {line['line']}", signed[line["line"]], _dec(line["amount"], "line"))
    checks.eq("pool_base_units = holders' pool × 10^decimals (the chain's decimals)",
              w.holders_amount.scaleb(decimals), _dec(report["pool_base_units"], "pool_base_units"))
    check_gross(checks, report, wf)


def check_gross(checks: Checks, report: dict, wf: dict) -> None:
    """Gross is what the revenue lines add up to: the priced procedure cells (merged line
    included) and compute lines where the terms include them; a correction bills the month as
    corrected minus what earlier statements billed."""
    gross = _dec(report["gross"], "gross")
    correction = next((ln for ln in wf.get("lines", []) if ln.get("line") == "correction"), None)
    if correction is not None:
        checks.eq("gross = corrected month − already billed", gross,
                  _dec(correction["corrected_total"], "correction") - _dec(correction["billed"], "correction"))
        checks.cannot("the other periods of a corrected month (only this period's lines are in the report)")
        return
    revenue = report.get("revenue") or {}
    include_compute = bool(report["terms"].get("includes_compute_revenue"))
    total = Decimal(0)
    for line in [*revenue.get("lines", []), *([revenue["merged"]] if revenue.get("merged") else [])]:
        if line.get("amount") is None or (line.get("kind") == "compute" and not include_compute):
            continue
        total += _dec(line["amount"], "revenue line amount")
    checks.eq("gross = Σ priced revenue lines", gross, total)


def _lines_total(lines: list, merged: dict | None = None) -> tuple[Decimal, int]:
    """(Σ amounts of priced lines, Σ procedure counts) of revenue lines, plus a merged line."""
    amount, count = Decimal(0), 0
    for line in [*lines, *([merged] if merged else [])]:
        if line.get("amount") is not None:
            amount += _dec(line["amount"], "revenue line amount")
        if line.get("kind") == "procedure":
            count += int(line.get("count") or 0)
    return amount, count


def check_detail(checks: Checks, report: dict, detail_body: bytes) -> None:
    commitment = (report.get("detail") or {}).get("sha256")
    if not checks.eq("detail: the report commits to a detailed usage", True, bool(commitment)):
        return
    checks.eq("detail: SHA-256 = report's detail.sha256", commitment, hashlib.sha256(detail_body).hexdigest())
    try:
        detail = json.loads(detail_body)
        lines = detail["revenue_lines"]
        public = report["revenue"]
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"not a distribution report detail: {exc}") from exc
    checks.eq("detail: same distribution", report.get("distribution"), detail.get("distribution"))
    checks.eq("detail: revenue lines add up to the public ones (amount, procedures)",
              _lines_total(public.get("lines", []), public.get("merged")), _lines_total(lines))


def _contract(w3, address: str, abi_path: pathlib.Path):
    try:
        abi = json.loads(abi_path.read_text())["abi"]
    except (OSError, ValueError, KeyError) as exc:
        raise UsageError(f"cannot read the ABI {abi_path}: {exc}") from exc
    return w3.eth.contract(address=address, abi=abi)


def verify(body: bytes, rpc: str, *, abi_path: pathlib.Path = DEFAULT_ABI, factory: str | None = None,
           from_block: int = 0, detail: bytes | None = None, out=sys.stdout) -> int:
    from web3 import Web3

    def say(*a):
        print(*a, file=out)

    try:
        report = json.loads(body)
        if report.get("schema") not in SCHEMAS:
            raise UsageError(f"report schema {report.get('schema')!r} is not one this verifier checks ({SCHEMAS})")
        token_address = Web3.to_checksum_address(report["token"]["address"])
        pool = int(report["pool_base_units"])
        units_total = int(report["units"]["total"])
        device_id = report["device"]["chain_device_id"]
        acc = report["accumulator"]
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"not a distribution report: {exc}") from exc
    digest = hashlib.sha256(body).hexdigest()
    checks = Checks()
    say(f"report sha256  {digest}")
    say(f"token          {token_address} ({report['token'].get('symbol', '')}), chain {report.get('chain_id')}")

    w3 = Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": 30}))
    try:
        chain_id = w3.eth.chain_id
    except Exception as exc:
        raise UsageError(f"cannot reach the node at {rpc}: {exc}") from exc
    checks.eq("chain id", report.get("chain_id"), chain_id)
    token = _contract(w3, token_address, abi_path)
    if not checks.true("token has code", w3.eth.get_code(token_address) != b"", token_address):
        return _finish(checks, say)

    # Provenance: the platform's factory made this token for this device.
    chain_device = "0x" + bytes(token.functions.deviceId().call()).hex().removeprefix("0x")
    checks.eq("token's deviceId = report's device", device_id.lower(), chain_device.lower())
    if factory:
        fac = _contract(w3, Web3.to_checksum_address(factory), FACTORY_ABI)
        checks.eq("factory's token for the report's device", token_address,
                  Web3.to_checksum_address(fac.functions.tokenForDevice(device_id).call()))
        checks.eq("token's factory", Web3.to_checksum_address(factory),
                  Web3.to_checksum_address(token.functions.factory().call()))
    else:
        checks.cannot("the token's provenance (give --factory with the platform's published TokenFactory)")

    # Terms pinned at deployment.
    try:
        expected_terms = terms_hash(report["terms"], units=units_total, currency=report["currency"])
    except (KeyError, TypeError, ArithmeticError) as exc:
        raise UsageError(f"report terms unreadable: {exc}") from exc
    checks.eq("report's terms_sha256 = SHA-256 of its terms and N", expected_terms, report.get("terms_sha256"))
    checks.eq("token's termsHash() = SHA-256 of the report's terms and N", expected_terms,
              bytes(token.functions.termsHash().call()).hex().removeprefix("0x"))
    checks.eq("token's totalUnits() = report's N", units_total, int(token.functions.totalUnits().call()))

    # The stablecoin and its decimals come from the chain, not from the report.
    coin_address = Web3.to_checksum_address(token.functions.stablecoin().call())
    checks.eq("stablecoin = the token's stablecoin()", coin_address,
              Web3.to_checksum_address(report["stablecoin"]["address"]))
    decimals = int(w3.eth.contract(address=coin_address, abi=ERC20_DECIMALS_ABI).functions.decimals().call())
    checks.eq("stablecoin decimals() = report's", decimals, int(report["stablecoin"]["decimals"]))
    check_waterfall(checks, report, decimals)
    checks.cannot("the reserve balance before this statement (the platform's ledger; shown: "
                  f"{report['waterfall'].get('reserve_balance_before', '0')} {report['currency']})")
    if detail is not None:
        check_detail(checks, report, detail)
    else:
        checks.cannot("the usage behind gross (give --detail with the detailed usage, for the clinic and holders)")

    event = token.events.RevenueDistributed
    topic0 = Web3.keccak(text="RevenueDistributed(address,uint256,uint256,uint256,uint256,uint256,bytes32)")
    logs = w3.eth.get_logs({"address": token_address, "fromBlock": from_block, "toBlock": "latest",
                            "topics": [topic0, None, "0x" + digest]})
    if not checks.eq("RevenueDistributed events carrying this report's hash", 1, len(logs)):
        return _finish(checks, say)
    ev = event().process_log(logs[0])
    args = ev["args"]
    block = int(ev["blockNumber"])
    amount, pps_after, dust_after = int(args["amount"]), int(args["pointsPerShare"]), int(args["dustMagnified"])
    say(f"deposit        tx 0x{bytes(ev['transactionHash']).hex().removeprefix('0x')}, block {block}")
    checks.eq("deposited pool = report's pool_base_units", pool, int(args["pool"]))

    before = block - 1
    mag = int(token.functions.MAGNITUDE().call())
    supply = int(token.functions.totalSupply().call(block_identifier=before))
    pps_before = int(token.functions.pointsPerShare().call(block_identifier=before))
    dust_before = int(token.functions.dustMagnified().call(block_identifier=before))
    delta, dust_delta = pps_after - pps_before, dust_after - dust_before
    checks.eq("MAGNITUDE", int(acc["magnitude"]), mag)
    say(f"supply         {supply} units at block {before} (the block before the deposit), of N = {units_total}")
    checks.eq("pointsPerShare before the deposit", int(acc["points_per_share_before"]), pps_before)
    checks.eq("units outstanding at the deposit = totalSupply before it", supply, int(args["unitsOutstanding"]))
    inc = pool * mag // units_total
    checks.eq("pointsPerShare increase = pool × MAGNITUDE ÷ N (each unit earns 1/N of the pool)", inc, delta)
    checks.eq("amount pulled = increase × supply ÷ MAGNITUDE, rounded up", -(-inc * supply // mag), amount)
    checks.eq("dust increase = amount × MAGNITUDE − increase × supply", amount * mag - inc * supply, dust_delta)
    checks.true("the clinic is not charged for unsold units (amount ≤ pool × supply ÷ N, rounded up)",
                amount <= -(-pool * supply // units_total), f"{amount} ≤ ⌈{pool} × {supply} ÷ {units_total}⌉")

    holders: set[str] = set()
    for log in token.events.Transfer().get_logs(from_block=from_block, to_block=block):
        holders.add(log["args"]["to"])
    holders.discard("0x" + "0" * 40)
    rows, total_units, total_magnified, total_base, worst = [], 0, 0, 0, Fraction(0)
    for h in sorted(holders):
        units = int(token.functions.balanceOf(h).call(block_identifier=block))
        if units == 0:
            continue
        base = units * delta // mag
        rows.append((h, units, base))
        total_units += units
        total_magnified += units * delta
        total_base += base
        worst = max(worst, abs(Fraction(units * delta, mag) - Fraction(units * pool, units_total)))
    say("")
    say(f"{'holder':42}  {'units':>12}  {'entitlement (base units)':>26}  {'amount':>24}")
    for h, units, base in rows:
        say(f"{h:42}  {units:>12}  {base:>26}  {Decimal(base).scaleb(-decimals):>24}")
    say(f"{'total':42}  {total_units:>12}  {total_base:>26}  {Decimal(total_base).scaleb(-decimals):>24}")
    say(f"{'retained (units not held)':42}  {units_total - total_units:>12}  {pool - amount:>26}  "
        f"{Decimal(pool - amount).scaleb(-decimals):>24}")
    say("")
    checks.eq("Σ holders' units at the deposit block = units outstanding", supply, total_units)
    checks.eq("Σ units × increase + dust increase = amount × MAGNITUDE", amount * mag, total_magnified + dust_delta)
    checks.true("every holder credited units ÷ N of the pool, within one base unit", worst < 1,
                f"largest difference {Decimal(worst.numerator) / Decimal(worst.denominator):.6f} base units")
    return _finish(checks, say)


def _finish(checks: Checks, say) -> int:
    for name, ok, detail in checks.rows:
        say(f"{'ok  ' if ok else 'FAIL'}  {name}: {detail}")
    for what in checks.unverified:
        say(f"NOT VERIFIED  {what}")
    if checks.ok():
        say("\nAll checks passed.")
        return EXIT_OK
    say(f"\nMISMATCH ({len(checks.failures())}): " + "; ".join(checks.failures()))
    return EXIT_MISMATCH


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", metavar="REPORT_URL_OR_FILE")
    parser.add_argument("--rpc", required=True, help="JSON-RPC URL of a node of the report's chain")
    parser.add_argument("--from-block", type=int, default=0, help="first block to search logs from (default 0)")
    parser.add_argument("--abi", type=pathlib.Path, default=DEFAULT_ABI, help="SecurityToken artifact (JSON)")
    parser.add_argument("--factory", help="the platform's TokenFactory address (published with its deployments): "
                                          "checks the token is the factory's token for the report's device")
    parser.add_argument("--detail", metavar="DETAIL_URL_OR_FILE",
                        help="the detailed usage (clinic and holders): checked against the report's detail.sha256")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors already; keep --help at 0
        return int(exc.code or 0)
    try:
        detail = read_report(args.detail) if args.detail else None
        return verify(read_report(args.report), args.rpc, abi_path=args.abi, factory=args.factory,
                      from_block=args.from_block, detail=detail)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
