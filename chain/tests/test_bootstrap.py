import pytest
from django.core.management import call_command

from chain import gateway
from chain.models import Deployment
from chain.selectors import deployment_address

pytestmark = pytest.mark.chain


def test_bootstrap_deploys_shared_contracts_and_grants_agent(chain_ready):
    for name in ("IdentityRegistry", "TokenFactory", "AssetRegistry", "MockStablecoin", "SecurityToken"):
        assert gateway.has_code(deployment_address(name))
    agent = gateway.address_of("agent")
    assert gateway.call("TokenFactory", deployment_address("TokenFactory"), "isAgent", agent) is True
    assert gateway.call("IdentityRegistry", deployment_address("IdentityRegistry"), "isAgent", agent) is True
    assert gateway.call("TokenFactory", deployment_address("TokenFactory"), "implementation").lower() == \
        deployment_address("SecurityToken").lower()


def test_bootstrap_is_idempotent(chain_ready):
    before = {d.name: d.address for d in Deployment.objects.all()}
    call_command("chain_bootstrap")
    assert {d.name: d.address for d in Deployment.objects.all()} == before


def test_bootstrap_redeploys_when_recorded_address_has_no_code(fresh_anvil, db, settings):
    from tests.fixtures.chain import chain_ready_on

    first = chain_ready_on(fresh_anvil, settings)
    Deployment.objects.filter(name="AssetRegistry").update(address="0x" + "11" * 20)
    again = chain_ready_on(fresh_anvil, settings)
    assert again["IdentityRegistry"] == first["IdentityRegistry"]
    assert again["AssetRegistry"] != "0x" + "11" * 20
    assert gateway.has_code(deployment_address("AssetRegistry"))
