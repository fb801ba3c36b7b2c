import brownie
from conftest import DE, FR, identity_of, reverts_with


def test_register_and_views(registry, agent, investors):
    w = investors[0]
    tx = registry.registerIdentity(w, identity_of(w), DE, {"from": agent})
    assert tx.events["IdentityRegistered"]["investorAddress"] == w
    assert tx.events["IdentityRegistered"]["identity"] == identity_of(w)
    assert tx.events["CountryUpdated"]["country"] == DE
    assert registry.contains(w)
    assert registry.identity(w) == identity_of(w)
    assert registry.investorCountry(w) == DE
    assert registry.isVerified(w)
    assert registry.kycExpiry(identity_of(w)) == 0
    assert not registry.isVerified(investors[1])


def test_register_twice_and_zero(registry, agent, investors):
    w = investors[0]
    registry.registerIdentity(w, identity_of(w), DE, {"from": agent})
    with reverts_with("AlreadyRegistered"):
        registry.registerIdentity(w, identity_of(w), DE, {"from": agent})
    with reverts_with("ZeroAddress"):
        registry.registerIdentity(investors[1], brownie.ZERO_ADDRESS, DE, {"from": agent})


def test_only_agent(registry, outsider, investors, owner):
    w = investors[0]
    for call in (
        lambda: registry.registerIdentity(w, identity_of(w), DE, {"from": outsider}),
        lambda: registry.registerIdentityWithExpiry(w, identity_of(w), DE, 1, {"from": outsider}),
        lambda: registry.setKycExpiry(identity_of(w), 1, {"from": owner}),
        lambda: registry.deleteIdentity(w, {"from": outsider}),
        lambda: registry.updateCountry(w, FR, {"from": outsider}),
        lambda: registry.batchRegisterIdentity([w], [identity_of(w)], [DE], {"from": outsider}),
    ):
        with reverts_with("NotAgent"):
            call()


def test_update_delete_batch(registry, agent, investors):
    a, b, c = investors[:3]
    tx = registry.batchRegisterIdentity([a, b], [identity_of(a), identity_of(b)], [DE, FR], {"from": agent})
    assert len(tx.events["IdentityRegistered"]) == 2
    with reverts_with("LengthMismatch"):
        registry.batchRegisterIdentity([c], [], [DE], {"from": agent})
    tx = registry.updateCountry(a, FR, {"from": agent})
    assert tx.events["CountryUpdated"]["country"] == FR and registry.investorCountry(a) == FR
    tx = registry.updateIdentity(a, identity_of(c), {"from": agent})
    assert tx.events["IdentityUpdated"]["oldIdentity"] == identity_of(a)
    assert registry.identity(a) == identity_of(c)
    tx = registry.deleteIdentity(b, {"from": agent})
    assert tx.events["IdentityRemoved"]["investorAddress"] == b
    assert not registry.contains(b) and not registry.isVerified(b)
    with reverts_with("NotRegistered"):
        registry.deleteIdentity(b, {"from": agent})
    with reverts_with("NotRegistered"):
        registry.updateCountry(c, DE, {"from": agent})


def test_kyc_expiry(registry, agent, investors, chain):
    w, w2 = investors[:2]
    now = chain.time()
    tx = registry.registerIdentityWithExpiry(w, identity_of(w), DE, now + 1000, {"from": agent})
    assert tx.events["KycExpiryUpdated"]["expiresAt"] == now + 1000
    # a second wallet of the same investor shares the identity's expiry
    registry.registerIdentity(w2, identity_of(w), DE, {"from": agent})
    assert registry.isVerified(w) and registry.isVerified(w2)
    chain.sleep(2000)
    chain.mine()
    assert not registry.isVerified(w) and not registry.isVerified(w2)
    assert registry.contains(w)
    registry.setKycExpiry(identity_of(w), chain.time() + 1000, {"from": agent})
    assert registry.isVerified(w2)
    registry.setKycExpiry(identity_of(w), 0, {"from": agent})  # 0 = no expiry
    assert registry.isVerified(w)
    verified, country = registry.verifiedCountry(w)
    assert verified and country == DE


def test_agent_roles_and_ownership(registry, owner, agent, outsider, accounts):
    assert registry.isAgent(agent) and not registry.isAgent(outsider)
    with reverts_with("NotOwner"):
        registry.addAgent(outsider, {"from": agent})
    tx = registry.addAgent(outsider, {"from": owner})
    assert tx.events["AgentAdded"]["_agent"] == outsider
    with reverts_with("AgentStatusUnchanged"):
        registry.addAgent(outsider, {"from": owner})
    tx = registry.removeAgent(outsider, {"from": owner})
    assert tx.events["AgentRemoved"]["_agent"] == outsider and not registry.isAgent(outsider)
    registry.transferOwnership(outsider, {"from": owner})
    assert registry.owner() == owner and registry.pendingOwner() == outsider
    with reverts_with("NotOwner"):
        registry.acceptOwnership({"from": agent})
    tx = registry.acceptOwnership({"from": outsider})
    assert tx.events["OwnershipTransferred"]["newOwner"] == outsider
    assert registry.owner() == outsider
