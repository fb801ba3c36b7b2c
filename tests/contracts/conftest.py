"""Fixtures for the brownie contract suite (run: .venv-brownie/bin/brownie test tests/contracts)."""
import os
from contextlib import contextmanager
from pathlib import Path

import brownie
import pytest
from brownie import (
    AssetRegistry,
    IdentityRegistry,
    MockStablecoin,
    SecurityToken,
    TokenFactory,
    accounts,
    web3,
)

# brownie launches `anvil` (network "development", see scripts/setup_brownie.sh) only after
# conftest import: make node_modules' binary the one found on PATH.
_ANVIL_DIR = Path(__file__).resolve().parents[2] / "node_modules/@foundry-rs/anvil-linux-amd64/bin"
os.environ["PATH"] = f"{_ANVIL_DIR}{os.pathsep}{os.environ.get('PATH', '')}"

DE, FR, US = 276, 250, 840
DEVICE_ID = "0x" + "ab" * 32
REPORT = "0x" + "5e" * 32  # a revenue report hash for distributeRevenue
TERMS = "0x" + "11" * 32  # the offering's terms hash (TokenParams.termsHash)


def identity_of(wallet) -> str:
    """Deterministic per-investor identity address used in tests (one per wallet)."""
    return web3.to_checksum_address("0x" + str(wallet)[-38:] + "1d")


@contextmanager
def reverts_with(prefix: str):
    """Expect a revert whose decoded message starts with `prefix` (custom errors decode
    as "ErrorName: arg, ...")."""
    with pytest.raises(brownie.exceptions.VirtualMachineError) as exc:
        yield exc
    assert (exc.value.revert_msg or "").startswith(prefix), exc.value.revert_msg


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    pass


@pytest.fixture(scope="module")
def owner():
    return accounts[0]


@pytest.fixture(scope="module")
def agent():
    return accounts[1]


@pytest.fixture(scope="module")
def investors():
    return accounts[2:8]


@pytest.fixture(scope="module")
def outsider():
    return accounts[9]


@pytest.fixture(scope="module")
def registry(owner, agent):
    r = IdentityRegistry.deploy(owner, {"from": owner})
    r.addAgent(agent, {"from": owner})
    return r


@pytest.fixture(scope="module")
def usd(owner):
    """6 decimals, like USDC."""
    return MockStablecoin.deploy(6, {"from": owner})


@pytest.fixture(scope="module")
def usd18(owner):
    """18 decimals, like DAI."""
    return MockStablecoin.deploy(18, {"from": owner})


@pytest.fixture(scope="module")
def factory(owner, agent):
    impl = SecurityToken.deploy({"from": owner})
    f = TokenFactory.deploy(owner, impl, {"from": owner})
    f.addAgent(agent, {"from": owner})
    return f


@pytest.fixture(scope="module")
def asset_registry(owner, agent):
    a = AssetRegistry.deploy(owner, {"from": owner})
    a.addAgent(agent, {"from": owner})
    return a


def token_params(owner, agent, registry, usd, *, supply_cap=1_000_000, max_balance=0,
                 max_holders=0, lockup=0, countries=(DE, FR), total_units=1_000_000,
                 terms_hash=TERMS):
    return ("Device Token", "DEV", owner, agent, registry, usd, supply_cap, max_balance,
            max_holders, lockup, list(countries), total_units, terms_hash)


@pytest.fixture(scope="module")
def deploy_token(factory, owner, agent, registry, usd):
    counter = {"n": 0}

    def _deploy(stablecoin=None, **kw):
        counter["n"] += 1
        device = "0x" + f"{counter['n']:064x}"
        p = token_params(owner, agent, registry, stablecoin or usd, **kw)
        tx = factory.deployToken(device, p, {"from": agent})
        return SecurityToken.at(tx.events["TokenDeployed"]["token"])

    return _deploy


@pytest.fixture(scope="module")
def token(deploy_token):
    """Countries DE+FR allowed, 1,000,000 units (N) and supply cap 1,000,000, no other limits."""
    return deploy_token()


@pytest.fixture(scope="module")
def register(registry, agent):
    def _register(wallet, country=DE, expiry=0):
        if registry.contains(wallet):
            registry.deleteIdentity(wallet, {"from": agent})
        registry.registerIdentityWithExpiry(wallet, identity_of(wallet), country, expiry, {"from": agent})

    return _register


@pytest.fixture
def funded(token, register, investors, agent):
    """investors[0..2] registered (DE) holding 100 / 50 / 0 tokens; investors[3] registered (FR)."""
    for inv in investors[:3]:
        register(inv)
    register(investors[3], FR)
    token.mint(investors[0], 100, {"from": agent})
    token.mint(investors[1], 50, {"from": agent})
    return token
