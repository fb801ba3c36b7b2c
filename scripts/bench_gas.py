#!/usr/bin/env python3
"""Gas benchmark: our contracts vs the T-REX 4.1.6 reference suite vs a plain OZ ERC-20.

    .venv-brownie/bin/python scripts/bench_gas.py        # needs web3 (the brownie venv has it)
    .venv-brownie/bin/python scripts/bench_gas.py --smoke    # seconds: tiny sizes (CI)

Starts its own anvil (node_modules) on a free 127.0.0.1 port, deploys from
contracts/build/*.json and the artifacts shipped in node_modules/@tokenysolutions/t-rex
and @onchain-id/solidity, runs the same operations and prints a table. Targets that are
missed are marked "MISS" and make the exit status 1 (so CI can gate on it); everything
else exits 0. Gas is receipt gasUsed (21,000 base included).

--smoke runs every operation (ours, T-REX and OZ) with small holder counts (10 and 50
holders, 10-wallet batch claims): it fails if any step fails, including the T-REX
reference, and never on a target (the full run gates those).
"""
from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from eth_abi import encode
from web3 import Web3

ROOT = Path(__file__).resolve().parent.parent
ANVIL = ROOT / "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
TREX = ROOT / "node_modules/@tokenysolutions/t-rex/artifacts/contracts"
OID = ROOT / "node_modules/@onchain-id/solidity/artifacts/contracts"
DE, FR, US = 276, 250, 840
REPORT = b"\x5e" * 32  # a revenue report hash
TERMS = b"\x11" * 32  # an offering's terms hash (TokenParams.termsHash)
# Holders' pool of a whole device (N = 10^9 units): not a multiple of N, so every deposit
# changes the dust like a real one (a pool of exactly N would leave the dust slot unchanged)
POOL = 10**9 + 7


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ours(name):
    a = json.loads((ROOT / "contracts/build" / f"{name}.json").read_text())
    return a["abi"], a["bytecode"]


def hardhat(path: Path):
    a = json.loads(path.read_text())
    return a["abi"], a["bytecode"]


class Chain:
    def __init__(self, w3):
        self.w3 = w3
        self.acc = w3.eth.accounts

    def deploy(self, art, *args, sender=None):
        abi, bytecode = art
        c = self.w3.eth.contract(abi=abi, bytecode=bytecode)
        tx = c.constructor(*args).transact({"from": sender or self.acc[0]})
        r = self.w3.eth.wait_for_transaction_receipt(tx)
        assert r.status == 1, "deploy failed"
        return self.w3.eth.contract(address=r.contractAddress, abi=abi), r.gasUsed

    def send(self, fn, sender=None):
        tx = fn.transact({"from": sender or self.acc[0]})
        r = self.w3.eth.wait_for_transaction_receipt(tx)
        assert r.status == 1, f"tx failed: {fn.fn_name}"
        return r


def addr(i: int) -> str:
    return Web3.to_checksum_address(f"0x{0xB0000000 + i:040x}")


def ident(a: str) -> str:
    return Web3.to_checksum_address("0x" + a[-38:] + "1d")


HOLDERS = (10, 1_000, 10_000)  # holder counts the distribution gas is measured at
BATCH = 100  # wallets per custodial batch claim
SMOKE_HOLDERS, SMOKE_BATCH = (10, 50), 10


def dist_label(n: int) -> str:
    return f"distribute with report hash ({n:,} holders)"


def batch_labels(n: int) -> tuple[str, str]:
    return f"batch claim, per wallet at {n} wallets", f"batch claim, per wallet at {n} wallets (fresh balances)"


def bench_ours(ch: Chain, res: dict, holder_counts: tuple[int, ...] = HOLDERS, batch: int = BATCH):
    w3, acc = ch.w3, ch.acc
    owner, agent = acc[0], acc[1]
    usd, _ = ch.deploy(ours("MockStablecoin"), 6)  # 6 decimals, like USDC
    reg, _ = ch.deploy(ours("IdentityRegistry"), owner)
    ch.send(reg.functions.addAgent(agent))
    impl, _ = ch.deploy(ours("SecurityToken"))
    fac, _ = ch.deploy(ours("TokenFactory"), owner, impl.address)
    ch.send(fac.functions.addAgent(agent))
    st_abi = ours("SecurityToken")[0]

    def deploy(device: int, **kw):
        p = ("Device Token", "DEV", owner, agent, reg.address, usd.address, kw.get("cap", 10**9),
             kw.get("max_balance", 10**6), kw.get("max_holders", 20_000), 0, [DE, FR, US],
             kw.get("total_units", 10**9), TERMS)
        r = ch.send(fac.functions.deployToken(device.to_bytes(32, "big"), p), agent)
        token = fac.functions.tokenForDevice(device.to_bytes(32, "big")).call()
        return w3.eth.contract(address=token, abi=st_abi), r.gasUsed

    tok, res["deploy a device token"] = deploy(1)
    # investors: dev accounts 2..9
    inv = acc[2:10]
    res["register investor"] = ch.send(reg.functions.registerIdentity(inv[0], ident(inv[0]), DE), agent).gasUsed
    r = ch.send(reg.functions.registerIdentityWithExpiry(inv[1], ident(inv[1]), DE, 2**40), agent)
    res["register investor + KYC expiry"] = r.gasUsed
    for a in inv[2:]:
        ch.send(reg.functions.registerIdentityWithExpiry(a, ident(a), DE, 2**40), agent)
    res["mint (new holder)"] = ch.send(tok.functions.mint(inv[0], 1000), agent).gasUsed
    ch.send(tok.functions.mint(inv[1], 1000), agent)
    ch.send(usd.functions.mint(agent, 10**15))
    ch.send(usd.functions.approve(tok.address, 2**256 - 1), agent)
    ch.send(tok.functions.distributeRevenue(10**6, REPORT), agent)  # accounting active from here
    res["transfer (existing holder)"] = ch.send(tok.functions.transfer(inv[1], 10), inv[0]).gasUsed
    res["transfer (new holder)"] = ch.send(tok.functions.transfer(inv[2], 10), inv[0]).gasUsed
    res["forced transfer"] = ch.send(tok.functions.forcedTransfer(inv[0], inv[3], 10), agent).gasUsed
    bench_settlement_ours(ch, res, tok, usd, inv[0], inv[1], fac)
    ch.send(reg.functions.registerIdentity(acc[10], ident(inv[1]), DE), agent)  # investor's new wallet
    res["recovery"] = ch.send(tok.functions.recoveryAddress(inv[1], acc[10], ident(inv[1])), agent).gasUsed
    # KYC renewal: the expiry lives in each wallet's record, so an investor's renewal
    # writes each of its wallets (warm, non-zero -> non-zero slots)
    res["renew KYC (1 wallet)"] = ch.send(reg.functions.setKycExpiry(inv[2], 2**41), agent).gasUsed
    res["renew KYC (3 wallets, batch)"] = ch.send(
        reg.functions.batchSetKycExpiry([inv[3], inv[4], inv[5]], 2**41), agent).gasUsed

    for n in holder_counts:
        t, _ = deploy(100 + n)
        holders = [addr(n * 100_000 + i) for i in range(n - 2)]
        for i in range(0, len(holders), 400):
            chunk = holders[i:i + 400]
            ch.send(reg.functions.batchRegisterIdentity(chunk, [ident(h) for h in chunk], [DE] * len(chunk)), agent)
            ch.send(t.functions.batchMint(chunk, [3] * len(chunk)), agent)
        ch.send(t.functions.batchMint([inv[4], inv[5]], [5, 5]), agent)
        ch.send(usd.functions.approve(t.address, 2**256 - 1), agent)
        ch.send(t.functions.distributeRevenue(POOL, REPORT), agent)  # first payout initialises slots
        r = ch.send(t.functions.distributeRevenue(POOL, REPORT), agent)
        res[dist_label(n)] = r.gasUsed
        assert t.functions.holderCount().call() == n
        if n == 10:
            # inv[4] has never held the stablecoin (its balance slot is created: +17,100);
            # inv[5] already holds some
            assert usd.functions.balanceOf(inv[4]).call() == 0
            res["claim (fresh stablecoin balance)"] = ch.send(t.functions.claimIncome(), inv[4]).gasUsed
            ch.send(usd.functions.mint(inv[5], 1))
            res["claim (existing balance)"] = ch.send(t.functions.claimIncome(), inv[5]).gasUsed

    # custodial batch claim: 2 × batch holders; the first batch already hold stablecoin, the
    # other never did. Per wallet = receipt gas / batch (the 21,000 base is shared).
    t, _ = deploy(99)
    wallets = [addr(9_000_000 + i) for i in range(2 * batch)]
    ch.send(reg.functions.batchRegisterIdentity(wallets, [ident(w) for w in wallets], [DE] * len(wallets)), agent)
    ch.send(t.functions.batchMint(wallets, [7] * len(wallets)), agent)
    ch.send(usd.functions.approve(t.address, 2**256 - 1), agent)
    ch.send(t.functions.distributeRevenue(10**9, REPORT), agent)
    for w in wallets[:batch]:
        ch.send(usd.functions.mint(w, 1))
    held, fresh = batch_labels(batch)
    r = ch.send(t.functions.claimIncomeForBatch(wallets[:batch]), agent)
    res[held] = r.gasUsed // batch
    r = ch.send(t.functions.claimIncomeForBatch(wallets[batch:]), agent)
    res[fresh] = r.gasUsed // batch
    assert all(usd.functions.balanceOf(w).call() > 1 for w in wallets[::37])


def bench_oz(ch: Chain, res: dict):
    acc = ch.acc
    tok, _ = ch.deploy(ours("PlainERC20"), 10**24)
    ch.send(tok.functions.transfer(acc[2], 1000))
    res["transfer (existing holder)"] = ch.send(tok.functions.transfer(acc[2], 10)).gasUsed
    res["transfer (new holder)"] = ch.send(tok.functions.transfer(acc[3], 10)).gasUsed


def bench_trex(ch: Chain, res: dict, strict: bool = False):
    acc = ch.acc
    owner, agent = acc[0], acc[1]
    art = {
        "Token": TREX / "token/Token.sol/Token.json",
        "IR": TREX / "registry/implementation/IdentityRegistry.sol/IdentityRegistry.json",
        "IRS": TREX / "registry/implementation/IdentityRegistryStorage.sol/IdentityRegistryStorage.json",
        "CTR": TREX / "registry/implementation/ClaimTopicsRegistry.sol/ClaimTopicsRegistry.json",
        "TIR": TREX / "registry/implementation/TrustedIssuersRegistry.sol/TrustedIssuersRegistry.json",
        "MC": TREX / "compliance/modular/ModularCompliance.sol/ModularCompliance.json",
        "Country": TREX / "compliance/modular/modules/CountryAllowModule.sol/CountryAllowModule.json",
        "MaxBal": TREX / "compliance/modular/modules/MaxBalanceModule.sol/MaxBalanceModule.json",
        "Identity": OID / "Identity.sol/Identity.json",
    }
    art = {k: hardhat(v) for k, v in art.items()}
    deploy_gas = 0

    def dep(name, *args):
        nonlocal deploy_gas
        c, g = ch.deploy(art[name], *args)
        deploy_gas += g
        return c

    def call(fn, sender=owner):
        nonlocal deploy_gas
        deploy_gas += ch.send(fn, sender).gasUsed

    ctr, tir, irs, ir, mc = dep("CTR"), dep("TIR"), dep("IRS"), dep("IR"), dep("MC")
    call(ctr.functions.init())
    call(tir.functions.init())
    call(irs.functions.init())
    call(ir.functions.init(tir.address, ctr.address, irs.address))
    call(irs.functions.bindIdentityRegistry(ir.address))
    call(mc.functions.init())
    tok = dep("Token")
    call(tok.functions.init(ir.address, mc.address, "Device Token", "DEV", 0, "0x" + "00" * 20))
    call(tok.functions.addAgent(agent))
    call(ir.functions.addAgent(agent))
    call(tok.functions.unpause(), agent)
    res["deploy a device token"] = deploy_gas  # full suite, no proxies, no modules
    for name in ("Country", "MaxBal"):
        m, _ = ch.deploy(art[name])
        ch.send(m.functions.initialize())
        ch.send(mc.functions.addModule(m.address))
        data = (m.encode_abi("batchAllowCountries", args=[[DE, FR, US]]) if name == "Country"
                else m.encode_abi("setMaxBalance", args=[10**6]))
        ch.send(mc.functions.callModuleFunction(data, m.address))

    inv = acc[2:10]
    ids = {}
    for i, a in enumerate(inv):
        identity, g_id = ch.deploy(art["Identity"], a, False)
        g_reg = ch.send(ir.functions.registerIdentity(a, identity.address, DE), agent).gasUsed
        ids[a] = identity.address
        if i == 0:
            res["register investor"] = g_id + g_reg
    res["mint (new holder)"] = ch.send(tok.functions.mint(inv[0], 1000), agent).gasUsed
    ch.send(tok.functions.mint(inv[1], 1000), agent)
    res["transfer (existing holder)"] = ch.send(tok.functions.transfer(inv[1], 10), inv[0]).gasUsed
    res["transfer (new holder)"] = ch.send(tok.functions.transfer(inv[2], 10), inv[0]).gasUsed
    res["forced transfer"] = ch.send(tok.functions.forcedTransfer(inv[0], inv[3], 10), agent).gasUsed
    try:
        bench_settlement_trex(ch, res, tok, inv[0], inv[1])
    except Exception as exc:  # the DvP reference is optional; keep the other figures
        if strict:
            raise
        print(f"T-REX DvP reference run incomplete: {exc!r}", file=sys.stderr)
    new_wallet = acc[11]
    # T-REX recovers only to a wallet that is a management key (purpose 1) of the investor's
    # ONCHAINID, and re-registers it through the token, which must be an agent of the registry.
    identity = ch.w3.eth.contract(address=ids[inv[1]], abi=art["Identity"][0])
    ch.send(identity.functions.addKey(Web3.keccak(encode(["address"], [new_wallet])), 1, 1), inv[1])
    ch.send(ir.functions.addAgent(tok.address))
    res["recovery"] = ch.send(tok.functions.recoveryAddress(inv[1], new_wallet, ids[inv[1]]), agent).gasUsed


# ---- secondary market: DvP settlement (ours: Settlement.take; T-REX: DVDTransferManager)
DVP = ["DvP: post offer / initiate", "DvP settlement (token + stablecoin + 1 % fee)",
       "DvP settlement paid by the treasury for a card buyer (takeFor)"]


def _dvp_setup(ch: Chain, tok, seller, buyer, usd):
    """Seller and buyer (both verified, both already token holders) and the fee wallet
    already hold the stablecoin, so neither side pays for a fresh balance slot."""
    fee_wallet = ch.acc[11]
    for a in (seller, buyer, fee_wallet):
        ch.send(usd.functions.mint(a, 10**12))
    return fee_wallet


def bench_settlement_ours(ch: Chain, res: dict, tok, usd, seller, buyer, factory):
    w3 = ch.w3
    fee_wallet = _dvp_setup(ch, tok, seller, buyer, usd)
    board, _ = ch.deploy(ours("Settlement"), ch.acc[0], usd.address, fee_wallet, 100, factory.address)
    ch.send(tok.functions.approve(board.address, 10), seller)
    ch.send(usd.functions.approve(board.address, 2**256 - 1), buyer)
    expiry = w3.eth.get_block("latest").timestamp + 3600
    r = ch.send(board.functions.post(tok.address, 10, 2_500_000, expiry), seller)
    res[DVP[0]] = r.gasUsed
    r = ch.send(board.functions.take(1, 10, 2_500_000), buyer)
    res[DVP[1]] = r.gasUsed
    # A card purchase: the treasury (an agent of the board) pays, the buyer receives the units.
    treasury = ch.acc[0]
    ch.send(board.functions.addAgent(treasury))
    ch.send(usd.functions.mint(treasury, 10**12))
    ch.send(usd.functions.approve(board.address, 2**256 - 1), treasury)
    ch.send(tok.functions.approve(board.address, 10), seller)
    ch.send(board.functions.post(tok.address, 10, 2_500_000, expiry), seller)
    res[DVP[2]] = ch.send(board.functions.takeFor(2, 10, 2_500_000, buyer), treasury).gasUsed
    assert usd.functions.balanceOf(board.address).call() == 0


def bench_settlement_trex(ch: Chain, res: dict, tok, seller, buyer):
    usd, _ = ch.deploy(ours("MockStablecoin"), 6)
    fee_wallet = _dvp_setup(ch, tok, seller, buyer, usd)
    dvd, _ = ch.deploy(hardhat(TREX / "DVD/DVDTransferManager.sol/DVDTransferManager.json"))
    # 1 % on the stablecoin leg (fee base 10^4), none on the token leg, like ours
    ch.send(dvd.functions.modifyFee(tok.address, usd.address, 0, 100, 4, fee_wallet, fee_wallet))
    ch.send(tok.functions.approve(dvd.address, 10), seller)
    ch.send(usd.functions.approve(dvd.address, 2**256 - 1), buyer)
    r = ch.send(dvd.functions.initiateDVDTransfer(tok.address, 10, buyer, usd.address, 25_000_000), seller)
    res[DVP[0]] = r.gasUsed
    transfer_id = dvd.events.DVDTransferInitiated().process_receipt(r)[0]["args"]["transferID"]
    res[DVP[1]] = ch.send(dvd.functions.takeDVDTransfer(transfer_id), buyer).gasUsed


DISTRIBUTE = [dist_label(n) for n in HOLDERS]
CLAIMS = ["claim (fresh stablecoin balance)", "claim (existing balance)", *batch_labels(BATCH)]
TARGETS = {
    "transfer (existing holder)": 90_000,
    "transfer (new holder)": 90_000,
    "register investor": 70_000,
    "register investor + KYC expiry": 70_000,
    "deploy a device token": 500_000,
    **dict.fromkeys(DISTRIBUTE, 70_000),
    "claim (fresh stablecoin balance)": 60_000,
    "claim (existing balance)": 60_000,
    "batch claim, per wallet at 100 wallets": 30_000,
}
# Reported but not gating: a recipient that never held the stablecoin costs the stablecoin
# a fresh storage slot (20,000 + 2,100 cold), which no design on the token side can avoid.
INFORMATIONAL = {"claim (fresh stablecoin balance)"}


def order_for(holders: tuple[int, ...], batch: int) -> list[str]:
    return ["transfer (existing holder)", "transfer (new holder)", "mint (new holder)", "forced transfer",
            "recovery", "register investor", "register investor + KYC expiry", "renew KYC (1 wallet)",
            "renew KYC (3 wallets, batch)", "deploy a device token", *map(dist_label, holders),
            "claim (fresh stablecoin balance)", "claim (existing balance)", *batch_labels(batch), *DVP]


ORDER = order_for(HOLDERS, BATCH)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true",
                    help="seconds, small holder counts: every step must run; targets not gated")
    args = ap.parse_args()
    holders, batch = (SMOKE_HOLDERS, SMOKE_BATCH) if args.smoke else (HOLDERS, BATCH)
    port = free_port()
    proc = subprocess.Popen(
        [str(ANVIL), "--port", str(port), "--host", "127.0.0.1", "--hardfork", "cancun",
         "--chain-id", "31337", "--gas-limit", "100000000", "--accounts", "12",
         "--base-fee", "0", "--gas-price", "0", "--code-size-limit", "50000", "--silent"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    start = time.time()
    try:
        w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}", request_kwargs={"timeout": 120}))
        for _ in range(100):
            if w3.is_connected():
                break
            time.sleep(0.1)
        ch = Chain(w3)
        results = {"ours": {}, "trex": {}, "oz": {}}
        bench_ours(ch, results["ours"], holders, batch)
        bench_oz(ch, results["oz"])
        try:
            bench_trex(ch, results["trex"], strict=args.smoke)
        except Exception as exc:  # keep our numbers even if the reference setup breaks
            if args.smoke:
                raise
            print(f"T-REX reference run incomplete: {exc!r}", file=sys.stderr)
    finally:
        proc.terminate()
        proc.wait()

    def fmt(v):
        return f"{v:,}" if isinstance(v, int) else "n/a"

    rows = [("operation", "ours", "T-REX 4.1.6", "OZ ERC-20", "target", "ok")]
    misses = 0
    for op in order_for(holders, batch):
        o = results["ours"].get(op)
        target = TARGETS.get(op)
        ok = "" if target is None else ("ok" if o is not None and o <= target else "MISS")
        misses += ok == "MISS" and op not in INFORMATIONAL
        rows.append((op, fmt(o), fmt(results["trex"].get(op)), fmt(results["oz"].get(op)),
                     fmt(target) if target else "-", ok or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    for i, r in enumerate(rows):
        print("| " + " | ".join(c.ljust(widths[j]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(r)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    if args.smoke:
        print("\nSMOKE run: small holder counts; targets shown, not gated (the full run gates them).")
    print(f"\n(ours: compliant transfers with country + max balance + holder cap rules and income "
          f"accounting active; T-REX: CountryAllow + MaxBalance modules, no claim topics, identity "
          f"deploy + register without addClaim; {time.time() - start:.0f}s)")
    if args.smoke:
        missing = [op for op in order_for(holders, batch) if op not in results["ours"]]
        assert not missing, f"no figure for {missing}"
        return 0
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
