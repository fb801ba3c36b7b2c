"""The stand-alone verify script against a real distributed deposit on anvil (the world is
built through the real paths: usage → close → clinic pays → report hashed → deposit), the
public proof page's live check, and the statement figures equal to the chain."""

import contextlib
import hashlib
import http.server
import io
import json
import os
import pathlib
import subprocess
import sys
import threading
from decimal import Decimal

import pytest
from django.urls import reverse
from pypdf import PdfReader

from chain import gateway
from tokens import ledger, waterfall
from tokens.distributions import statements
from tokens.tests import distribution_world as world_mod

pytestmark = [pytest.mark.chain, pytest.mark.django_db]
ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "verify_distribution.py"


@pytest.fixture
def world(chain_ready, platform_admin, drain_outbox):
    return world_mod.distributed_world(platform_admin=platform_admin, drain=drain_outbox)


def run_script(*args, cwd=None):
    # No Django in the child: no settings module, a working directory outside the project.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120,
                          env=env, cwd=cwd)


def test_verify_script_passes_on_the_deposit_and_fails_on_any_changed_number(world, settings, tmp_path):
    w, d = world
    report_file = tmp_path / "report.json"
    report_file.write_bytes(d.report.encode())
    ok = run_script(str(report_file), "--rpc", settings.CHAIN_RPC_URL, cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "All checks passed." in ok.stdout and d.report_sha256 in ok.stdout
    # The table: every holder (the frozen one too) with units × Δpps ÷ MAGNITUDE, equal to the chain.
    ent = ledger.distribution_entitlements(d)
    for role, units in world_mod.UNITS.items():
        line = next(r for r in ok.stdout.splitlines() if r.startswith(gateway.to_checksum(w.wallets[role])))
        assert line.split()[1:3] == [str(units), str(world_mod.withdrawable(w, role))]
        assert int(line.split()[2]) == ent["holders"][w.wallets[role].lower()]["base_units"]

    report = json.loads(d.report)
    # One number changed (the gross): the hash no longer matches any deposit and the waterfall is off.
    tampered = dict(report, gross=str(d.gross + 1))
    bad = tmp_path / "tampered.json"
    bad.write_bytes(json.dumps(tampered, sort_keys=True, separators=(",", ":")).encode())
    fail = run_script(str(bad), "--rpc", settings.CHAIN_RPC_URL, cwd=tmp_path)
    assert fail.returncode == 1, fail.stdout + fail.stderr
    assert "MISMATCH" in fail.stdout and "RevenueDistributed events carrying this report's hash" in fail.stdout
    assert "waterfall holders_amount" in fail.stdout

    # Re-serialising the same content differently is also a different document: the bytes are what count.
    spaced = tmp_path / "spaced.json"
    spaced.write_bytes(json.dumps(report, indent=1).encode())
    assert run_script(str(spaced), "--rpc", settings.CHAIN_RPC_URL, cwd=tmp_path).returncode == 1


def test_verify_script_checks_the_detail_against_the_public_report(world, settings, tmp_path):
    """The public report commits to the detailed usage by SHA-256: the clinic's or a holder's
    download passes; a changed count does not."""
    _, d = world
    report_file, detail_file = tmp_path / "report.json", tmp_path / "detail.json"
    report_file.write_bytes(d.report.encode())
    detail_file.write_bytes(d.report_detail.encode())
    ok = run_script(str(report_file), "--rpc", settings.CHAIN_RPC_URL, "--detail", str(detail_file), cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "detail: SHA-256 = report's detail.sha256" in ok.stdout
    detail = json.loads(d.report_detail)
    cell = next(ln for ln in detail["revenue_lines"] if ln["kind"] == "procedure")
    cell["count"] += 1
    detail_file.write_bytes(json.dumps(detail, sort_keys=True, separators=(",", ":")).encode())
    bad = run_script(str(report_file), "--rpc", settings.CHAIN_RPC_URL, "--detail", str(detail_file), cwd=tmp_path)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "MISMATCH" in bad.stdout and "detail: SHA-256" in bad.stdout


def test_a_mint_mined_between_freezing_and_the_deposit_still_verifies(chain_ready, platform_admin, drain_outbox,
                                                                      settings, tmp_path):
    """Regression (issue 15, item 4): a primary sale's mint mined after the report was frozen and
    before its deposit. The report stated the supply when frozen, so the verifier failed an
    honest deposit; now the report states only what deposits move (pointsPerShare before; one
    deposit of a token in flight), and the supply at the deposit block is read from the chain."""
    from chain.models import ChainTransaction
    from tokens.tests.factories import mint_via_outbox

    w = world_mod.build_holders(platform_admin=platform_admin, drain=drain_outbox)
    world_mod.simulate_month(w)
    d = world_mod.close_and_pay(w, drain=lambda ids=None, timeout=30: [], pay=True)  # queued, nothing sent
    assert d.status == "depositing" and d.report
    mint = mint_via_outbox(w.offering, w.wallets["custodial"], 20)
    world_mod._drain(lambda: drain_outbox(ids=[mint.pk]))  # the mint is mined first
    assert ChainTransaction.objects.get(pk=mint.pk).status == "confirmed"
    world_mod._drain(drain_outbox)
    d.refresh_from_db()
    assert d.status == "distributed", (d.status, d.error)
    report_file = tmp_path / "report.json"
    report_file.write_bytes(d.report.encode())
    ok = run_script(str(report_file), "--rpc", settings.CHAIN_RPC_URL, cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    supply = sum(world_mod.UNITS.values()) + 20
    assert f"supply         {supply} units" in ok.stdout
    line = next(r for r in ok.stdout.splitlines() if r.startswith(gateway.to_checksum(w.wallets["custodial"])))
    assert line.split()[1] == str(world_mod.UNITS["custodial"] + 20)


def test_verify_script_usage_errors_exit_2(tmp_path, world, settings):
    _, d = world
    assert run_script(cwd=tmp_path).returncode == 2  # no arguments
    assert run_script(str(tmp_path / "missing.json"), "--rpc", settings.CHAIN_RPC_URL, cwd=tmp_path).returncode == 2
    junk = tmp_path / "junk.json"
    junk.write_text("not json")
    assert run_script(str(junk), "--rpc", settings.CHAIN_RPC_URL, cwd=tmp_path).returncode == 2
    good = tmp_path / "r.json"
    good.write_bytes(d.report.encode())
    down = run_script(str(good), "--rpc", "http://127.0.0.1:9", cwd=tmp_path)
    assert down.returncode == 2 and "cannot reach the node" in down.stderr


def test_public_page_checks_the_hash_live_and_the_statement_equals_the_chain(client, world):
    w, d = world
    page = client.get(reverse("tokens_public:distribution-verify", args=[d.public_id])).content.decode()
    assert "Verified:" in page and d.report_sha256 in page and d.deposit_tx.tx_hash in page
    assert 'data-testid="daily-usage"' not in page  # per-day counts: for the clinic and holders only
    api = client.get(reverse("tokens_public:api-public-distribution", args=[d.public_id])).json()
    assert api["onchain"]["state"] == "match" and api["onchain"]["onchain_sha256"] == d.report_sha256
    assert api["onchain"]["amount"] == d.deposited_base_units
    body = client.get(reverse("tokens_public:distribution-report", args=[d.public_id])).content
    assert hashlib.sha256(body).hexdigest() == d.report_sha256

    # The script also reads a report URL: the downloaded bytes, served over HTTP.
    from django.conf import settings

    with serve_bytes(body) as url:
        ok = run_script(url, "--rpc", settings.CHAIN_RPC_URL)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    # The investor's statement carries the chain's numbers.
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(
        statements.investor_statement_pdf(d, user=w.custodial))).pages)
    text = "".join(text.split())
    accrued = world_mod.withdrawable(w, "custodial")
    assert f"{Decimal(accrued).scaleb(-6).normalize():,f}USD" in text  # the exact amount paid, beside the cents
    assert gateway.to_checksum(w.wallets["custodial"]) in text
    assert f"Unitsheldatthedepositblock{world_mod.UNITS['custodial']}" in text
    assert d.report_sha256 in text and d.deposit_tx.tx_hash in text and "Claimstatusclaimable" in text


@contextlib.contextmanager
def serve_bytes(body: bytes):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/report.json"
    finally:
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------- forged reports


def _factory() -> str:
    from chain.selectors import deployment_address

    return deployment_address("TokenFactory")


def _send(drain, key: str, contract: str, function: str, args: list, to: str):
    """One agent call through the outbox, mined."""
    from django.db import transaction

    from chain.models import ChainTransaction
    from chain.services import outbox_enqueue

    with transaction.atomic():
        row = outbox_enqueue(actor=None, idempotency_key=key, kind="test", contract_name=contract, function=function,
                             args=args, to_address=to, sender="agent")
    world_mod._drain(lambda: drain(ids=[row.pk]))
    row = ChainTransaction.objects.get(pk=row.pk)
    assert row.status == "confirmed", row.error
    return row


def deposit_forged(drain, report: dict, *, token: str, pool: int) -> bytes:
    """What a dishonest operator could do: deposit on chain with a forged report's hash."""
    body = json.dumps(report, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(body).hexdigest()
    coin = ledger.stablecoin_address()
    agent = gateway.address_of("agent")
    _send(drain, f"forge:{digest}:mint", "MockStablecoin", "mint", [agent, pool], coin)
    _send(drain, f"forge:{digest}:approve", "MockStablecoin", "approve", [token, pool], coin)
    _send(drain, f"forge:{digest}:deposit", "SecurityToken", "distributeRevenue", [pool, "0x" + digest], token)
    return body


def _rewaterfall(report: dict, *, gross=None, terms=None) -> dict:
    """A forged report that is consistent in itself: the waterfall recomputed by the app's own rules."""

    report = json.loads(json.dumps(report))
    if terms is not None:
        report["terms"] = terms
    if gross is not None:
        report["gross"] = str(gross)
    t = waterfall.Terms.from_json(report["terms"])
    w = waterfall.compute(gross=Decimal(report["gross"]), terms=t, units_total=report["units"]["total"],
                          units_outstanding=report["units"]["outstanding_at_statement"],
                          reserve_balance=Decimal(report["waterfall"]["reserve_balance_before"]))
    report["waterfall"].update(
        lines=w.lines(t, report["currency"], Decimal(report["waterfall"]["reserve_balance_before"])),
        **{k: str(getattr(w, k)) for k in ("platform_fee", "reserve", "clinic_share", "holders_amount",
                                           "investors_amount", "retained_amount", "amount_due")})
    report["pool_base_units"] = str(int(w.holders_amount.scaleb(int(report["stablecoin"]["decimals"]))))
    report["terms_sha256"] = waterfall.terms_hash(t, units=report["units"]["total"], currency=report["currency"])
    report["distribution"] = report["distribution"] + "-forged"
    return report


def _verify(tmp_path, body: bytes, settings, name: str):
    f = tmp_path / f"{name}.json"
    f.write_bytes(body)
    return run_script(str(f), "--rpc", settings.CHAIN_RPC_URL, "--factory", _factory(), cwd=tmp_path)


def test_forged_reports_deposited_on_chain_fail_verification(world, settings, tmp_path, drain_outbox):
    """Each forgery is deposited on chain with its own hash (so the hash lookup alone passes) and is
    internally consistent; what gives it away is what the chain says."""
    w, d = world
    honest = json.loads(d.report)
    token = d.offering.token_address
    ok = _verify(tmp_path, d.report.encode(), settings, "honest")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "NOT VERIFIED  the reserve balance before this statement" in ok.stdout
    assert "ok    factory's token for the report's device" in ok.stdout
    assert "ok    token's termsHash() = SHA-256 of the report's terms and N" in ok.stdout

    def forged(report, name):
        body = deposit_forged(drain_outbox, report, token=token, pool=int(report["pool_base_units"]))
        out = _verify(tmp_path, body, settings, name)
        assert out.returncode == 1, out.stdout + out.stderr
        assert "ok    RevenueDistributed events carrying this report's hash" in out.stdout
        return out.stdout

    # 1. Terms with a higher platform fee (taken from the holders' share): the token pinned others.
    terms = dict(honest["terms"])
    terms["platform_fee_pct"] = str(Decimal(terms["platform_fee_pct"]) + 1)
    terms["holders_share_pct"] = str(Decimal(terms["holders_share_pct"]) - 1)
    out = forged(_rewaterfall(honest, terms=terms), "fee")
    assert "FAIL  token's termsHash() = SHA-256 of the report's terms and N" in out

    # 2. Gross below the sum of its own revenue lines.
    out = forged(_rewaterfall(honest, gross=Decimal(honest["gross"]) - 100), "gross")
    assert "FAIL  gross = Σ priced revenue lines" in out

    # 3. A stablecoin with other decimals: the report claims 18, the token's stablecoin has 6.
    eighteen = json.loads(json.dumps(honest))
    eighteen["stablecoin"]["decimals"] = 18
    eighteen = _rewaterfall(eighteen)
    out = forged(eighteen, "decimals")
    assert "FAIL  stablecoin decimals() = report's" in out

    # 4. A decoy token: another token of the factory, presented as the report's device's.
    decoy_device = "0x" + os.urandom(32).hex()
    from tokens.offerings.services import token_params

    row = _send(drain_outbox, f"forge:decoy:{decoy_device}", "TokenFactory", "deployToken",
                [decoy_device, token_params(d.offering)], _factory())
    decoy = next(lg for lg in row.receipt["logs"] if lg.get("event") == "TokenDeployed")["args"]["token"]
    _send(drain_outbox, f"forge:decoy-mint:{decoy}", "SecurityToken", "mint", [w.wallets["custodial"], 10], decoy)
    fake = _rewaterfall(honest)
    fake["token"]["address"] = decoy
    fake["accumulator"]["points_per_share_before"] = "0"
    body = deposit_forged(drain_outbox, fake, token=decoy, pool=int(fake["pool_base_units"]))
    out = _verify(tmp_path, body, settings, "decoy")
    assert out.returncode == 1, out.stdout
    assert "FAIL  factory's token for the report's device" in out.stdout
    assert "FAIL  token's deviceId = report's device" in out.stdout

    # 5. The old bug: the pool spread over the units sold only (as if N were the supply).
    spread = _rewaterfall(honest)
    supply = sum(world_mod.UNITS.values())
    pool_over_sold = int(spread["pool_base_units"]) * int(spread["units"]["total"]) // supply
    body = deposit_forged(drain_outbox, spread, token=token, pool=pool_over_sold)
    out = _verify(tmp_path, body, settings, "spread")
    assert out.returncode == 1, out.stdout
    assert "FAIL  deposited pool = report's pool_base_units" in out.stdout
