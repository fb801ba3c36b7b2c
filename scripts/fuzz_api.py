"""Fuzz the HTTP API against its own OpenAPI schema with schemathesis, once per role.

Throwaway SQLite DB under a temp MEDRWA_VAR_DIR, demo data from `seed_demo` plus the objects a
chain would have produced (a live offering, a month's distribution, a claim, a market offer and
card purchase, an order, notifications: _CHAIN_FREE_SEED), `runserver` on a free 127.0.0.1 port.
Every operation is called with generated (valid and invalid) inputs as each role; path ids are
half the time swapped for ids that exist so requests get past the 404s.
Inputs: valid and schema-violating (schemathesis' positive and negative modes).
Checks: no 5xx, documented responses match the schema, every JSON 4xx has the error shape
{"error": {"code", "message", "details"}}. The HMAC telemetry endpoint is fuzzed separately,
each generated body signed with a freshly issued device credential.

    .venv/bin/python scripts/fuzz_api.py [--max-examples 25] [--time-budget 300] [--seed 0]
                                         [--roles a,b] [--include path] [--fixed-count]

Seeded: every operation/role pair draws its inputs from its own seed (--seed mixed with the
method, path and role), so the same requests go out in the same order; another --seed explores
other inputs.

Two ways to spend the budget:
- by default the time budget is shared fairly: each operation/role pair gets what is left divided
  by the pairs left, so none is starved (about 12,000 calls in --time-budget 600 --max-examples
  15). A pair stops at --max-examples or at its share, whichever comes first, so how many
  requests a slow operation gets depends on the machine;
- --fixed-count (what the suite runs, core/tests/test_api_fuzz.py): every pair sends exactly its
  --max-examples requests whatever they take, so every run is the same; --time-budget is then
  only a ceiling for the whole run, and a pair it leaves without a call fails the run.

Exits 1 when any check failed. Bounded in examples and wall time; talks only to 127.0.0.1 (the
chain RPC is pointed at a closed port: a chain that happens to run on this machine is never touched).
"""

import argparse
import hashlib
import hmac
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException
from schemathesis import GenerationMode
from schemathesis import checks as st_checks
from schemathesis.core.failures import FailureGroup

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
TELEMETRY_PATH = "/api/v1/telemetry/batches"
# Resolved by name: schemathesis registers its checks lazily. 4xx codes are undocumented in the
# schema, so status_code_conformance would flag every validation error; the error-shape check covers them.
CHECKS = [st_checks.not_a_server_error, st_checks.response_schema_conformance, st_checks.content_type_conformance]
ROLES = {
    "anonymous": None,
    "investor": "investor@demo.medrwa.local",
    "clinic_admin": "clinic.admin@demo.medrwa.local",
    "clinic_staff": "clinic.staff@demo.medrwa.local",
    "appraiser": "appraiser@demo.medrwa.local",
    "compliance": "compliance@demo.medrwa.local",
    "platform_admin": "admin@demo.medrwa.local",
}
# The fuzz server has no chain: these documented 503s are the environment, not a defect.
NO_CHAIN_CODES = {"chain_not_bootstrapped", "identity_registry_missing", "chain_bootstrap_failed", "chain_unavailable"}
DEFAULT_ROLES = "anonymous,investor,clinic_admin,appraiser,compliance,platform_admin"

# The fuzz server has no chain, so seed_demo stops short of an offering. These are the objects
# today's operations act on: a live offering (its deployment written in: no node answers at its
# address), a month closed through the real path (the hook opens its distribution), an income
# claim, an open market offer, a transfer, a failed order, a notification for every demo user.
_CHAIN_FREE_SEED = """
import datetime as dt
from decimal import Decimal
from django.utils import timezone
from accounts.models import Membership, User
from assets.models import Device
from core.roles import Role
from compliance.selectors import custodial_wallet
from notifications.models import Notification
from notifications.services import notify
from telemetry.models import RevenuePeriod
from telemetry.services import revenue_period_close
from tokens.offerings import services as token_services
from tokens.models import (Distribution, IncomeClaim, MarketCardPurchase, MarketOffer, MarketTransfer, Offering,
                           OfferingStatus, Order, OrderStatus)

padmin = Membership.objects.filter(role=Role.PLATFORM_ADMIN).select_related("user").first().user
investor = User.objects.get(email="investor@demo.medrwa.local")
device = Device.objects.filter(status="certified").order_by("pk").first()
offering = Offering.objects.filter(status=OfferingStatus.LIVE).exclude(token_address="").first()
if offering is None and device is not None:
    clinic = Membership.objects.filter(role=Role.CLINIC_ADMIN, organization=device.organization).first().user
    offering = token_services.offering_create(actor=padmin, device=device, data={
        "token_name": "Fuzz CT", "token_symbol": "FUZZ", "units": 1000, "price_per_unit": Decimal("250.00"),
        "currency": "USD", "share_offered_pct": Decimal("40.00"), "allowed_countries": [],
        "max_per_investor": 200, "holder_cap": 500, "lockup_until": None,
        "revenue_share_pct": Decimal("30.00"), "platform_fee_pct": Decimal("5.00"), "reserve_pct": Decimal("5.00"),
        "reserve_target": Decimal("25000.00"), "clinic_share_pct": Decimal("60.00"), "includes_compute_revenue": True})
    token_services.offering_record_consent(actor=clinic, offering=offering)
    # No chain here: the deployment is written in as if confirmed (an address nothing answers at).
    Offering.objects.filter(pk=offering.pk).update(status=OfferingStatus.LIVE, token_address="0x" + "f1" * 20,
                                                   chain_id=31337)
    offering.refresh_from_db()
    start = (timezone.now().date().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    if not RevenuePeriod.objects.filter(device=device, period_start=start).exists():
        revenue_period_close(actor=padmin, device=device, period_start=start)
if offering is not None:
    wallet = custodial_wallet(user=investor)
    address = wallet.address if wallet is not None else "0x" + "a1" * 20
    if not IncomeClaim.objects.filter(investor=investor).exists():
        IncomeClaim.objects.create(investor=investor, offering=offering, kind=IncomeClaim.Kind.CLAIM,
                                   status=IncomeClaim.Status.CONFIRMED, wallet=address, amount_base_units="1500000")
    if not MarketOffer.objects.filter(seller=investor).exists():
        MarketOffer.objects.create(
            offering=offering, seller=investor, seller_wallet=address, status="open", units=5, units_remaining=5,
            price_per_unit_base_units=260_000_000, expires_at=timezone.now() + dt.timedelta(days=30),
            board_address="0x" + "b2" * 20, board_offer_id=1)
        MarketTransfer.objects.create(kind=MarketTransfer.Kind.TRANSFER, status=MarketTransfer.Status.CONFIRMED,
                                      offering=offering, actor=investor, from_wallet=address,
                                      to_wallet="0x" + "c3" * 20, units=1)
    buyer = User.objects.filter(email="investor2@demo.medrwa.local").first()
    if buyer is not None and not MarketCardPurchase.objects.exists():
        MarketCardPurchase.objects.create(
            buyer=buyer, offer=MarketOffer.objects.filter(seller=investor).first(), offering=offering,
            wallet="0x" + "a2" * 20, units=1, price_per_unit_base_units=260_000_000,
            stablecoin_address="0x" + "d4" * 20, paid_base_units="260000000", fee_base_units="0",
            credit_base_units="260000000", amount=Decimal("260.00"),
            reserved_until=timezone.now() + dt.timedelta(minutes=30))
    if not Order.objects.filter(investor=investor).exists():
        Order.objects.create(investor=investor, offering=offering, units=2, unit_price=offering.price_per_unit,
                             total=2 * offering.price_per_unit, currency=offering.currency,
                             status=OrderStatus.FAILED, wallet=address, idempotency_key="fuzz:order",
                             reserved_until=timezone.now(), error="fuzz: mint failed")
for user in User.objects.filter(email__endswith="@demo.medrwa.local"):
    notify(recipient=user, category="security", event_key="fuzz:hello", title="Fuzz", body="A notification.",
           email=False)
print(f"seeded: {Distribution.objects.count()} distribution(s), {IncomeClaim.objects.count()} claim(s), "
      f"{MarketOffer.objects.count()} offer(s), {MarketCardPurchase.objects.count()} card purchase(s), "
      f"{Order.objects.count()} order(s), "
      f"{Notification.objects.count()} notification(s)")
"""

# Ids that exist after seeding, drawn for each path parameter name.
_KNOWN_IDS_SNIPPET = """
import datetime as dt
import json
from accounts.models import Membership
from assets.models import Appraisal, Certification, Device
from compliance.models import KycCase, KycDocument
from notifications.models import Notification
from telemetry.models import DeviceCredential, PlausibilityFlag, RevenuePeriod
from tokens.models import (AgentAction, Distribution, IncomeClaim, MarketCardPurchase, MarketOffer, MarketTransfer,
                           Offering, Order)
ids = lambda m, f="pk": [str(x) for x in m.objects.values_list(f, flat=True)[:20]]
devices = ids(Device)
print(json.dumps({
    "id": devices + ids(KycCase) + ids(KycDocument) + ids(Notification), "device_id": devices,
    "appraisal_pk": ids(Appraisal), "credential_id": ids(DeviceCredential), "flag_id": ids(PlausibilityFlag),
    "period_id": ids(RevenuePeriod), "offering_id": ids(Offering), "action_id": ids(AgentAction),
    "ref": devices + [str(c) for c in Certification.objects.values_list("public_id", flat=True)[:10]]
    + ids(Device, "public_ref"),
    "public_id": ids(Distribution, "public_id") + ids(MarketCardPurchase, "public_id"),
    "order_id": ids(Order, "public_id"), "claim_id": ids(IncomeClaim),
    "offer_id": ids(MarketOffer), "transfer_id": ids(MarketTransfer), "membership_id": ids(Membership),
    "year": [str(dt.date.today().year), str(dt.date.today().year - 1)],
}))
"""


@dataclass
class Stats:
    calls: int = 0
    failures: int = 0
    statuses: dict = field(default_factory=lambda: defaultdict(int))
    no_chain: int = 0
    messages: list = field(default_factory=list)
    harness_errors: list = field(default_factory=list)


def error_shape_problem(response) -> str | None:
    if response.status_code < 400:
        return None
    # schemathesis' Response keeps lower-cased header names mapped to lists; requests' is a plain mapping.
    ctype = next((v for k, v in response.headers.items() if k.lower() == "content-type"), "")
    if isinstance(ctype, list):
        ctype = ctype[0] if ctype else ""
    if "json" not in ctype:
        return f"{response.status_code} error is not JSON ({ctype or 'no content type'})"
    try:
        body = json.loads(response.content)
    except ValueError:
        return f"{response.status_code} error body is not valid JSON"
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict) or set(err) != {"code", "message", "details"}:
        return f"{response.status_code} error body lacks error.code/message/details: {str(body)[:200]}"
    if not isinstance(err["code"], str) or not isinstance(err["message"], str):
        return f"{response.status_code} error.code/message not strings: {str(body)[:200]}"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port() -> int:
    """A port nothing listens on (bound, then released): the fuzz server has no chain, and must
    not find the one `make run` may have started on 8545."""
    return free_port()


def manage(env, *args, capture=False) -> str:
    out = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True, text=True,
                         capture_output=True)
    return out.stdout if capture else ""


def wait_until_up(base: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early with {proc.returncode}")
        try:
            requests.get(f"{base}/api/schema/", timeout=30)
            return
        except requests.RequestException:  # not listening yet, or busy building the schema
            time.sleep(0.3)
    raise SystemExit("server did not start")


def pair_seed(base_seed: int, label: str, role: str) -> int:
    """The pair's own seed: stable across runs and Python processes (crc32, not hash())."""
    return zlib.crc32(f"{base_seed}:{label}:{role}".encode())


def fuzz_operation(op, *, base, headers, known, max_examples, deadline, sign=None, run_seed=0) -> Stats:
    stats = Stats()

    @seed(run_seed)
    @settings(max_examples=max_examples, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=_strategy(op), data=st.data())
    def run(case, data):
        # Draw before the deadline check: a case that stops drawing on time alone makes
        # hypothesis' replay see "inconsistent data generation" and abort the whole run.
        for name in list(case.path_parameters or {}):
            if known.get(name) and data.draw(st.booleans()):
                case.path_parameters[name] = data.draw(st.sampled_from(known[name]))
        if time.monotonic() > deadline:
            return
        try:
            if sign is not None:
                response = sign(case)
            else:
                response = case.call(base_url=base, headers=headers, timeout=15)
        except requests.RequestException as exc:
            stats.calls += 1
            stats.failures += 1
            stats.messages.append(f"transport error: {exc}")
            return
        stats.calls += 1
        stats.statuses[response.status_code] += 1
        problems = []
        checks = CHECKS
        if response.status_code == 503 and _error_code(response) in NO_CHAIN_CODES:
            stats.no_chain += 1
            checks = CHECKS[1:]
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except (FailureGroup, AssertionError) as exc:
            problems.append(_first_detail(exc))
        shape = error_shape_problem(response)
        if shape:
            problems.append("error shape: " + shape)
        if problems:
            stats.failures += 1
            for p in problems:
                line = f"{case.method} {case.formatted_path} -> {response.status_code}: {p}"
                if len(stats.messages) < 5 and line not in stats.messages:
                    stats.messages.append(line)

    try:
        run()
    except HypothesisException as exc:  # the harness's own trouble, not the app's: reported, run goes on
        stats.harness_errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    return stats


def _strategy(op):
    """Valid inputs and schema-violating ones (wrong types, missing fields, bad enums), mixed."""
    positive = op.as_strategy(GenerationMode.POSITIVE)
    try:
        return st.one_of(positive, op.as_strategy(GenerationMode.NEGATIVE))
    except Exception:  # some operations have nothing to negate
        return positive


def _error_code(response) -> str:
    try:
        return json.loads(response.content)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return ""


def _first_detail(exc) -> str:
    failures = getattr(exc, "exceptions", None) or [exc]
    parts = []
    for f in failures:
        message = " ".join(str(getattr(f, "message", f)).split())
        parts.append(f"{getattr(f, 'title', type(f).__name__)}: {message[:300]}")
    return "; ".join(parts)


def make_signer(base, key_id, secret):
    def sign(case):
        kwargs = case.as_transport_kwargs(base_url=base)
        body = kwargs.get("json")
        raw = json.dumps(body).encode() if body is not None else (kwargs.get("data") or b"")
        if isinstance(raw, str):
            raw = raw.encode()
        ts = str(int(time.time()))
        sig = hmac.new(secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-MedRWA-Key-Id": key_id,
                   "X-MedRWA-Timestamp": ts, "X-MedRWA-Signature": f"v1={sig}"}
        return requests.post(kwargs["url"], data=raw, headers=headers, timeout=15)
    return sign


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-examples", type=int, default=25)
    ap.add_argument("--time-budget", type=float, default=300.0, help="seconds for all fuzzing")
    ap.add_argument("--roles", default=DEFAULT_ROLES, help=f"comma list of {', '.join(ROLES)}")
    ap.add_argument("--include", default="", help="only operations whose path contains this")
    ap.add_argument("--seed", type=int, default=0, help="base seed of the generated inputs (default 0)")
    ap.add_argument("--fixed-count", action="store_true",
                    help="every pair sends exactly --max-examples requests (deterministic); the time budget is a "
                         "ceiling, and a pair left without a call fails the run")
    args = ap.parse_args()
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    unknown = set(roles) - set(ROLES)
    if unknown:
        ap.error(f"unknown roles: {sorted(unknown)}")

    var_dir = tempfile.mkdtemp(prefix="medrwa-fuzz-")
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(MEDRWA_VAR_DIR=var_dir, DJANGO_SETTINGS_MODULE="config.settings.dev", DEBUG="False",
               CELERY_TASK_ALWAYS_EAGER="False", CHAIN_RPC_URL=f"http://127.0.0.1:{closed_port()}",
               EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
    server = None
    log = open(Path(var_dir) / "server.log", "w")  # noqa: SIM115 - closed in finally
    try:
        setup_began = time.monotonic()
        print(f"var dir {var_dir}: migrating and seeding ...", flush=True)
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo")
        # One shell for both (a Django start-up less): the seed's summary line, then the ids as JSON.
        *_, seeded, ids = manage(env, "shell", "-c", _CHAIN_FREE_SEED + _KNOWN_IDS_SNIPPET,
                                 capture=True).strip().splitlines()
        print(seeded, flush=True)
        known = json.loads(ids)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([PY, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                                  cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_until_up(base, server)
        print(f"server up on {base} after {time.monotonic() - setup_began:.0f} s of set-up", flush=True)
        password = os.environ.get("DEMO_PASSWORD", "medrwa-demo-2026")
        tokens = {}
        for role in roles:
            if ROLES[role]:
                r = requests.post(f"{base}/api/v1/auth/token/", json={"email": ROLES[role], "password": password},
                                  timeout=10)
                r.raise_for_status()
                tokens[role] = r.json()["token"]

        schema = schemathesis.openapi.from_url(f"{base}/api/schema/?format=json")
        ops = []
        for result in schema.get_all_operations():
            op = result.ok()
            if args.include and args.include not in op.path:
                continue
            ops.append(op)

        # Telemetry: sign with a real credential issued by the platform admin (or clinic admin).
        signer = None
        issuer = tokens.get("platform_admin") or tokens.get("clinic_admin")
        if issuer:
            for device_id in known["device_id"]:
                r = requests.post(f"{base}/api/v1/telemetry/devices/{device_id}/credentials/",
                                  json={"label": "fuzz"}, headers={"Authorization": f"Token {issuer}"}, timeout=10)
                if r.status_code == 201:
                    signer = make_signer(base, r.json()["key_id"], r.json()["secret"])
                    break

        jobs = []
        for op in ops:
            if op.path == TELEMETRY_PATH:
                if signer:
                    jobs.append((op, "device-hmac", None, signer))
                continue
            for role in roles:
                headers = {"Authorization": f"Token {tokens[role]}"} if role in tokens else {}
                jobs.append((op, role, headers, None))

        began = time.monotonic()
        end = began + args.time_budget
        rows = []
        for i, (op, role, headers, sign) in enumerate(jobs):
            now = time.monotonic()
            share = max((end - now) / (len(jobs) - i), 0.5) if not args.fixed_count else end - now
            # A fair share each (what a quick pair leaves over goes to the next): no pair starves.
            label = f"{op.method.upper()} {op.path}"
            stats = fuzz_operation(op, base=base, headers=headers or {}, known=known,
                                   max_examples=args.max_examples, deadline=min(now + share, end), sign=sign,
                                   run_seed=pair_seed(args.seed, label, role))
            rows.append((label, role, stats))

        width = max(len(r[0]) for r in rows)
        print(f"\n{'operation':<{width}}  {'role':<15} {'calls':>5} {'fail':>5}  statuses")
        for label, role, s in rows:
            sts = ",".join(f"{k}:{v}" for k, v in sorted(s.statuses.items()))
            if s.no_chain:
                sts += f" ({s.no_chain}x 503 no chain)"
            if s.harness_errors:
                sts += f" (harness: {s.harness_errors[0]})"
            print(f"{label:<{width}}  {role:<15} {s.calls:>5} {s.failures:>5}  {sts}")
        total_calls = sum(s.calls for *_, s in rows)
        total_fail = sum(s.failures for *_, s in rows)
        starved = [(label, role) for label, role, s in rows if s.calls == 0]
        print(f"\n{len(rows)} operation/role pairs, {total_calls} calls, {total_fail} failing calls, "
              f"{len(starved)} pairs without a call, seed {args.seed}, {time.monotonic() - began:.0f} s fuzzing")
        if total_fail:
            print("\nFailures (first few per pair):")
            for _label, role, s in rows:
                for m in s.messages:
                    print(f"  [{role}] {m}")
        if starved and args.fixed_count:
            print("\nNot fuzzed (--time-budget ran out first: raise it or lower --max-examples; or no input could "
                  "be generated: see the harness note):")
            for label, role, s in rows:
                if s.calls == 0:
                    print(f"  [{role}] {label}" + (f" (harness: {s.harness_errors[0]})" if s.harness_errors else ""))
            return 1
        return 1 if total_fail else 0
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        log.close()
        if os.environ.get("FUZZ_KEEP_VAR"):
            print(f"kept {var_dir}")
        else:
            shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
