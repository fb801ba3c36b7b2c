import brownie
from brownie import SecurityToken

from conftest import DEVICE_ID, TERMS, reverts_with, token_params


def test_deploy_token(factory, owner, agent, registry, usd):
    predicted = factory.predictTokenAddress(DEVICE_ID)
    terms = "0x" + "7e" * 32
    p = token_params(owner, agent, registry, usd, max_holders=7, supply_cap=0, total_units=2_500, terms_hash=terms)
    tx = factory.deployToken(DEVICE_ID, p, {"from": agent})
    ev = tx.events["TokenDeployed"]
    assert ev["deviceId"] == DEVICE_ID and ev["token"] == predicted and ev["owner"] == owner
    assert (ev["totalUnits"], ev["termsHash"]) == (2_500, terms)
    assert factory.tokenForDevice(DEVICE_ID) == predicted
    t = SecurityToken.at(predicted)
    assert t.owner() == owner and t.isAgent(agent) and t.deviceId() == DEVICE_ID
    assert t.identityRegistry() == registry and t.stablecoin() == usd
    assert t.complianceParams()[0] == 0 and t.complianceParams()[2] == 7
    assert t.isCountryAllowed(276) and not t.isCountryAllowed(840)
    assert t.totalUnits() == 2_500 and t.termsHash() == terms
    assert t.factory() == factory  # recorded by initialize: the factory made this token
    assert SecurityToken.at(factory.implementation()).factory() == brownie.ZERO_ADDRESS


def test_deploy_refuses_bad_economic_terms(factory, owner, agent, registry, usd):
    def deploy(**kw):
        factory.deployToken(DEVICE_ID, token_params(owner, agent, registry, usd, **kw), {"from": agent})

    for kw in ({"total_units": 0, "supply_cap": 0},
               {"total_units": 2**32, "supply_cap": 0},  # above MAX_SUPPLY
               {"total_units": 999, "supply_cap": 1_000}):  # cap above N
        with reverts_with("InvalidTotalUnits"):
            deploy(**kw)
    with reverts_with("MissingTermsHash"):
        deploy(terms_hash="0x" + "00" * 32)
    assert factory.tokenForDevice(DEVICE_ID) == brownie.ZERO_ADDRESS  # nothing deployed
    deploy(total_units=2**32 - 1, supply_cap=1_000, terms_hash=TERMS)  # bounds inclusive
    assert SecurityToken.at(factory.tokenForDevice(DEVICE_ID)).totalUnits() == 2**32 - 1


def test_deploy_is_idempotent(factory, owner, agent, registry, usd):
    p = token_params(owner, agent, registry, usd)
    factory.deployToken(DEVICE_ID, p, {"from": agent})
    with reverts_with("TokenAlreadyDeployed"):
        factory.deployToken(DEVICE_ID, p, {"from": agent})
    with reverts_with("InvalidDeviceId"):
        factory.deployToken("0x" + "00" * 32, p, {"from": agent})


def test_deploy_only_agent_or_owner(factory, owner, agent, registry, usd, outsider):
    p = token_params(owner, agent, registry, usd)
    with reverts_with("NotOwnerOrAgent"):
        factory.deployToken(DEVICE_ID, p, {"from": outsider})
    factory.deployToken(DEVICE_ID, p, {"from": owner})
    assert factory.tokenForDevice("0x" + "01" * 32) == brownie.ZERO_ADDRESS


def test_anchor(asset_registry, agent, outsider):
    cert, appr = "0x" + "c1" * 32, "0x" + "a1" * 32
    assert asset_registry.anchorOf(DEVICE_ID)[2] == 0
    tx = asset_registry.anchor(DEVICE_ID, cert, appr, {"from": agent})
    ev = tx.events["Anchored"]
    assert ev["deviceId"] == DEVICE_ID and ev["certificateHash"] == cert and ev["revision"] == 1
    c, a, at, rev = asset_registry.anchorOf(DEVICE_ID)
    assert (c, a, rev) == (cert, appr, 1) and at == tx.timestamp
    asset_registry.anchor(DEVICE_ID, cert, "0x" + "a2" * 32, {"from": agent})
    assert asset_registry.anchorOf(DEVICE_ID)[3] == 2
    with reverts_with("NotAgent"):
        asset_registry.anchor(DEVICE_ID, cert, appr, {"from": outsider})


def test_mock_stablecoin(usd, outsider):
    assert usd.decimals() == 6
    usd.mint(outsider, 5, {"from": outsider})
    assert usd.balanceOf(outsider) == 5
