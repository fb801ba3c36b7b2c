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
    assert registry.kycExpiry(w) == 0  # registerIdentity: never expires
    assert "KycExpirySet" not in tx.events
    assert not registry.isVerified(investors[1])
    verified, country = registry.verifiedCountry(investors[1])
    assert not verified and country == 0


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
        lambda: registry.setKycExpiry(w, 1, {"from": owner}),
        lambda: registry.batchSetKycExpiry([w], 1, {"from": outsider}),
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
    assert tx.events["KycExpirySet"]["wallet"] == w
    assert tx.events["KycExpirySet"]["expiresAt"] == now + 1000
    assert tx.events["IdentityRegistered"]["identity"] == identity_of(w)
    assert tx.events["CountryUpdated"]["country"] == DE
    assert registry.kycExpiry(w) == now + 1000 and registry.identity(w) == identity_of(w)
    assert registry.investorCountry(w) == DE
    # a second wallet of the same investor gets the same expiry (the expiry is per wallet)
    registry.registerIdentityWithExpiry(w2, identity_of(w), FR, now + 1000, {"from": agent})
    assert registry.isVerified(w) and registry.isVerified(w2)
    chain.sleep(2000)
    chain.mine()
    assert not registry.isVerified(w) and not registry.isVerified(w2)
    verified, country = registry.verifiedCountry(w2)
    assert not verified and country == FR
    assert registry.contains(w)
    # renewing one wallet does not renew the other
    tx = registry.setKycExpiry(w2, chain.time() + 1000, {"from": agent})
    assert tx.events["KycExpirySet"]["wallet"] == w2
    assert registry.isVerified(w2) and not registry.isVerified(w)
    tx = registry.batchSetKycExpiry([w, w2], 0, {"from": agent})  # 0 = never expires
    assert [e["wallet"] for e in tx.events["KycExpirySet"]] == [w, w2]
    assert registry.kycExpiry(w) == 0 and registry.kycExpiry(w2) == 0
    assert registry.isVerified(w) and registry.isVerified(w2)
    verified, country = registry.verifiedCountry(w)
    assert verified and country == DE
    # an expiry in the past = not verified (valid while block.timestamp < expiry)
    registry.setKycExpiry(w, 1, {"from": agent})
    assert not registry.isVerified(w)


def test_kyc_expiry_errors_and_lifecycle(registry, agent, investors, chain):
    a, b, c = investors[:3]
    with reverts_with("NotRegistered"):
        registry.setKycExpiry(a, 1, {"from": agent})
    registry.registerIdentityWithExpiry(a, identity_of(a), DE, 1, {"from": agent})  # expired
    assert not registry.isVerified(a)
    # one unregistered wallet reverts the whole batch
    with reverts_with("NotRegistered"):
        registry.batchSetKycExpiry([a, b], 0, {"from": agent})
    assert registry.kycExpiry(a) == 1
    tx = registry.batchSetKycExpiry([], 5, {"from": agent})
    assert "KycExpirySet" not in tx.events
    with reverts_with("ZeroAddress"):
        registry.registerIdentityWithExpiry(brownie.ZERO_ADDRESS, identity_of(a), DE, 0, {"from": agent})
    with reverts_with("AlreadyRegistered"):
        registry.registerIdentityWithExpiry(a, identity_of(a), DE, 0, {"from": agent})
    # updateIdentity / updateCountry keep the expiry
    registry.updateIdentity(a, identity_of(c), {"from": agent})
    registry.updateCountry(a, FR, {"from": agent})
    assert registry.kycExpiry(a) == 1 and not registry.isVerified(a)
    # deleteIdentity clears it; registerIdentity re-registers with no expiry
    registry.deleteIdentity(a, {"from": agent})
    assert registry.kycExpiry(a) == 0 and not registry.isVerified(a)
    registry.registerIdentity(a, identity_of(a), DE, {"from": agent})
    assert registry.kycExpiry(a) == 0 and registry.isVerified(a)
    # max uint64 expiry round-trips (packed next to identity and country)
    registry.registerIdentityWithExpiry(b, identity_of(b), 999, 2**64 - 1, {"from": agent})
    assert registry.kycExpiry(b) == 2**64 - 1 and registry.investorCountry(b) == 999
    assert registry.identity(b) == identity_of(b) and registry.isVerified(b)


def test_register_with_expiry_is_one_slot(registry, agent, investors, chain):
    """A new investor with KYC expiry is one fresh SSTORE: within the 70k target."""
    w = investors[0]
    tx = registry.registerIdentityWithExpiry(w, identity_of(w), DE, chain.time() + 10**6, {"from": agent})
    assert tx.gas_used <= 70_000, tx.gas_used


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


def test_built_in_storage_and_no_claim_registries(owner, agent, outsider):
    """ERC-3643 registry getters: storage is the registry itself; no claim topics /
    trusted issuers registries (zero). Only the registry itself is accepted as storage."""
    from brownie import IdentityRegistry
    r = IdentityRegistry.deploy(owner, {"from": owner})
    assert r.tx.events["IdentityStorageSet"]["_identityStorage"] == r
    assert r.identityStorage() == r
    assert r.issuersRegistry() == brownie.ZERO_ADDRESS
    assert r.topicsRegistry() == brownie.ZERO_ADDRESS
    tx = r.setIdentityRegistryStorage(r, {"from": owner})
    assert tx.events["IdentityStorageSet"]["_identityStorage"] == r
    with reverts_with("ExternalStorageUnsupported"):
        r.setIdentityRegistryStorage(outsider, {"from": owner})
    with reverts_with("NotOwner"):
        r.setIdentityRegistryStorage(r, {"from": outsider})
