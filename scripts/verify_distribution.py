#!/usr/bin/env python
"""Verify a MedRWA revenue distribution independently of the platform.

    python scripts/verify_distribution.py REPORT_URL_OR_FILE --rpc URL [--from-block N] [--abi PATH]
                                          [--detail DETAIL_URL_OR_FILE]

Stand-alone: needs only web3 and the committed ABI (contracts/build/SecurityToken.json);
it imports nothing of the platform. It reads the report's exact bytes, hashes them, finds
the RevenueDistributed event on the report's token whose indexed reportHash equals the
hash, and checks against the chain at the deposit block:

- the deposited amount equals the report's amount_base_units;
- the waterfall recomputed from the report's gross and terms (same rules as
  tokens/waterfall.py) equals every line, and amount_base_units = holders × 10^decimals;
- the stablecoin's decimals(), MAGNITUDE and pointsPerShare before the deposit equal the
  report, and the event's pointsPerShare / dust increase equal amount × MAGNITUDE ÷ supply
  and its remainder, the supply being the token's totalSupply at the block before the
  deposit (read from the chain: a report does not state it, since units minted between
  freezing the report and mining the deposit share in it; reports of schema /1 did, and it
  is checked for them);
- holders enumerated from Transfer logs, each balanceOf at the deposit block: their units
  add up to the supply, and Σ units × increase + dust increase = amount × MAGNITUDE.

With --detail (the detailed usage the clinic and holders can download; the public report
publishes only totals and cells of at least `revenue.min_cell` procedures): its SHA-256
equals the report's detail.sha256, it names the same distribution, and its revenue lines
add up to the public ones (the merged line included).

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

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_ABI = ROOT / "contracts" / "build" / "SecurityToken.json"
EXIT_OK, EXIT_MISMATCH, EXIT_USAGE = 0, 1, 2
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


def waterfall(*, gross: Decimal, platform_fee_pct: Decimal, reserve_pct: Decimal, reserve_target: Decimal,
              clinic_share_pct: Decimal, reserve_balance: Decimal = Decimal(0)) -> Waterfall:
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
    return Waterfall(gross=gross, platform_fee=fee, reserve=reserve, reserve_to_holders=nominal_reserve - reserve,
                     clinic_share=clinic, holders_amount=holders, amount_due=gross - clinic)


# ----------------------------------------------------------------------------- checks


class UsageError(Exception):
    pass


class Checks:
    def __init__(self):
        self.rows: list[tuple[str, bool, str]] = []

    def eq(self, name: str, expected, actual) -> bool:
        ok = expected == actual
        self.rows.append((name, ok, f"{actual}" if ok else f"expected {expected}, found {actual}"))
        return ok

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


def check_waterfall(checks: Checks, report: dict) -> None:
    terms, wf = report["terms"], report["waterfall"]
    w = waterfall(gross=_dec(report["gross"], "gross"),
                  platform_fee_pct=_dec(terms["platform_fee_pct"], "terms.platform_fee_pct"),
                  reserve_pct=_dec(terms["reserve_pct"], "terms.reserve_pct"),
                  reserve_target=_dec(terms["reserve_target"], "terms.reserve_target"),
                  clinic_share_pct=_dec(terms["clinic_share_pct"], "terms.clinic_share_pct"),
                  reserve_balance=_dec(wf.get("reserve_balance_before", "0"), "waterfall.reserve_balance_before"))
    shares = sum(_dec(terms[k], k) for k in ("platform_fee_pct", "reserve_pct", "clinic_share_pct",
                                             "holders_share_pct"))
    checks.eq("terms add up to 100%", Decimal(100), shares)
    for field in ("platform_fee", "reserve", "clinic_share", "holders_amount", "amount_due"):
        checks.eq(f"waterfall {field}", getattr(w, field), _dec(wf[field], f"waterfall.{field}"))
    signed = {"gross": w.gross, "platform_fee": -w.platform_fee, "reserve": -w.reserve,
              "clinic_share": -w.clinic_share, "holders": w.holders_amount}
    for line in wf.get("lines", []):
        if line.get("line") in signed:
            checks.eq(f"waterfall line {line['line']}", signed[line["line"]], _dec(line["amount"], "line"))
    decimals = int(report["stablecoin"]["decimals"])
    checks.eq("amount_base_units = holders × 10^decimals", w.holders_amount.scaleb(decimals),
              _dec(report["amount_base_units"], "amount_base_units"))


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


def verify(body: bytes, rpc: str, *, abi_path: pathlib.Path = DEFAULT_ABI, from_block: int = 0,
           detail: bytes | None = None, out=sys.stdout) -> int:
    from web3 import Web3

    def say(*a):
        print(*a, file=out)

    try:
        report = json.loads(body)
        token_address = Web3.to_checksum_address(report["token"]["address"])
        amount_expected = int(report["amount_base_units"])
        acc = report["accumulator"]
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"not a distribution report: {exc}") from exc
    try:
        abi = json.loads(abi_path.read_text())["abi"]
    except (OSError, ValueError, KeyError) as exc:
        raise UsageError(f"cannot read the ABI {abi_path}: {exc}") from exc
    digest = hashlib.sha256(body).hexdigest()
    checks = Checks()
    say(f"report sha256  {digest}")
    say(f"token          {token_address} ({report['token'].get('symbol', '')}), chain {report.get('chain_id')}")
    check_waterfall(checks, report)
    if detail is not None:
        check_detail(checks, report, detail)

    w3 = Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": 30}))
    try:
        chain_id = w3.eth.chain_id
    except Exception as exc:
        raise UsageError(f"cannot reach the node at {rpc}: {exc}") from exc
    checks.eq("chain id", report.get("chain_id"), chain_id)
    token = w3.eth.contract(address=token_address, abi=abi)
    event = token.events.RevenueDistributed
    topic0 = Web3.keccak(text="RevenueDistributed(address,uint256,uint256,uint256,bytes32)")
    logs = w3.eth.get_logs({"address": token_address, "fromBlock": from_block, "toBlock": "latest",
                            "topics": [topic0, None, "0x" + digest]})
    if not checks.eq("RevenueDistributed events carrying this report's hash", 1, len(logs)):
        return _finish(checks, say)
    ev = event().process_log(logs[0])
    block = int(ev["blockNumber"])
    amount, pps_after, dust_after = int(ev["args"]["amount"]), int(ev["args"]["pointsPerShare"]), \
        int(ev["args"]["dustMagnified"])
    say(f"deposit        tx 0x{bytes(ev['transactionHash']).hex().removeprefix('0x')}, block {block}")
    checks.eq("deposited amount = report amount_base_units", amount_expected, amount)

    before = block - 1
    stablecoin = w3.eth.contract(address=Web3.to_checksum_address(report["stablecoin"]["address"]),
                                 abi=ERC20_DECIMALS_ABI)
    checks.eq("stablecoin decimals()", int(report["stablecoin"]["decimals"]), stablecoin.functions.decimals().call())
    mag = int(token.functions.MAGNITUDE().call())
    supply = int(token.functions.totalSupply().call(block_identifier=before))
    pps_before = int(token.functions.pointsPerShare().call(block_identifier=before))
    dust_before = int(token.functions.dustMagnified().call(block_identifier=before))
    delta, dust_delta = pps_after - pps_before, dust_after - dust_before
    checks.eq("MAGNITUDE", int(acc["magnitude"]), mag)
    say(f"supply         {supply} units at block {before} (the block before the deposit)")
    if "total_supply" in acc:  # schema /1 stated it
        checks.eq("totalSupply before the deposit", int(acc["total_supply"]), supply)
    checks.eq("pointsPerShare before the deposit", int(acc["points_per_share_before"]), pps_before)
    checks.eq("pointsPerShare increase = amount × MAGNITUDE ÷ supply", amount * mag // supply if supply else 0,
              delta)
    checks.eq("dust increase = amount × MAGNITUDE mod supply", amount * mag % supply if supply else 0, dust_delta)
    if "expected_points_per_share_delta" in acc:  # schema /1
        checks.eq("report's expected pointsPerShare increase", int(acc["expected_points_per_share_delta"]), delta)
        checks.eq("report's expected dust increase", int(acc["expected_dust_magnified_delta"]), dust_delta)

    holders: set[str] = set()
    for log in token.events.Transfer().get_logs(from_block=from_block, to_block=block):
        holders.add(log["args"]["to"])
    holders.discard("0x" + "0" * 40)
    rows, total_units, total_magnified, total_base = [], 0, 0, 0
    for h in sorted(holders):
        units = int(token.functions.balanceOf(h).call(block_identifier=block))
        if units == 0:
            continue
        base = units * delta // mag
        rows.append((h, units, base))
        total_units += units
        total_magnified += units * delta
        total_base += base
    decimals = int(report["stablecoin"]["decimals"])
    say("")
    say(f"{'holder':42}  {'units':>12}  {'entitlement (base units)':>26}  {'amount':>24}")
    for h, units, base in rows:
        say(f"{h:42}  {units:>12}  {base:>26}  {Decimal(base).scaleb(-decimals):>24}")
    say(f"{'total':42}  {total_units:>12}  {total_base:>26}  {Decimal(total_base).scaleb(-decimals):>24}")
    say("")
    checks.eq("Σ holders' units at the deposit block = totalSupply", supply, total_units)
    checks.eq("Σ units × increase + dust increase = amount × MAGNITUDE", amount * mag, total_magnified + dust_delta)
    return _finish(checks, say)


def _finish(checks: Checks, say) -> int:
    for name, ok, detail in checks.rows:
        say(f"{'ok  ' if ok else 'FAIL'}  {name}: {detail}")
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
    parser.add_argument("--detail", metavar="DETAIL_URL_OR_FILE",
                        help="the detailed usage (clinic and holders): checked against the report's detail.sha256")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors already; keep --help at 0
        return int(exc.code or 0)
    try:
        detail = read_report(args.detail) if args.detail else None
        return verify(read_report(args.report), args.rpc, abi_path=args.abi, from_block=args.from_block,
                      detail=detail)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
