"""`make run` seeds the demo data before the `chain` process (scripts/run_chain.py) has a
node up, so the seeders that need the chain skip. run_chain then bootstraps the contracts
and seeds again: the demo CT ends up tokenized with a live offering and the demo investor's
KYC approval is recorded (it needs the IdentityRegistry)."""

import importlib.util
import io
import pathlib
import socket

import pytest
from django.core.management import CommandError, call_command

from assets import demo as assets_demo
from assets.models import Device, DeviceStatus
from chain import gateway, processor
from chain.models import ChainTransaction, Deployment
from compliance.models import KycCase
from tokens.models import Offering, OfferingStatus

pytestmark = pytest.mark.chain
ROOT = pathlib.Path(__file__).resolve().parents[2]


def _run_chain_module():
    spec = importlib.util.spec_from_file_location("run_chain", ROOT / "scripts" / "run_chain.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_chain_seeds_again_after_bootstrap(fresh_anvil, db, settings):
    with socket.socket() as s:  # `make run`'s seed: no node listening yet
        s.bind(("127.0.0.1", 0))
        settings.CHAIN_RPC_URL = f"http://127.0.0.1:{s.getsockname()[1]}"
    call_command("seed_demo", stdout=io.StringIO())
    assert not Offering.objects.exists()
    assert not KycCase.objects.filter(status=KycCase.Status.APPROVED).exists()

    commands = []

    def run(command: str, url: str) -> int:  # what `manage.py <command>` does, in this test's DB
        commands.append(command)
        settings.CHAIN_RPC_URL = url
        try:
            call_command(command, stdout=io.StringIO())
        except CommandError:
            return 1
        return 0

    assert _run_chain_module().setup(fresh_anvil.url, run) is True
    assert commands == ["chain_bootstrap", "seed_demo"]
    processor.drain(timeout=30)  # the Celery worker's part

    offering = Offering.objects.get()
    assert offering.status == OfferingStatus.LIVE, offering.error
    assert gateway.has_code(offering.token_address)
    assert Device.objects.get(serial_number=assets_demo.CT_SERIAL).status == DeviceStatus.TOKENIZED
    assert KycCase.objects.filter(status=KycCase.Status.APPROVED).exists()
    assert not ChainTransaction.objects.exclude(status=ChainTransaction.Status.CONFIRMED).exists()

    # Restarting the chain process changes nothing (bootstrap and seeders are idempotent).
    txs = ChainTransaction.objects.count()
    deployments = dict(Deployment.objects.values_list("name", "address"))
    assert _run_chain_module().setup(fresh_anvil.url, run) is True
    assert Offering.objects.count() == 1 and ChainTransaction.objects.count() == txs
    assert dict(Deployment.objects.values_list("name", "address")) == deployments


def test_run_chain_skips_seeding_when_bootstrap_fails(db):
    commands = []

    def run(command: str, url: str) -> int:
        commands.append(command)
        return 1

    assert _run_chain_module().setup("http://127.0.0.1:1", run) is False
    assert commands == ["chain_bootstrap"]
