import brownie
from brownie import web3

from conftest import DE, REPORT, identity_of, reverts_with


def test_role_checks(funded, investors, outsider, owner, agent):
    a = investors[0]
    for call in (
        lambda: funded.mint(a, 1, {"from": outsider}),
        lambda: funded.burn(a, 1, {"from": outsider}),
        lambda: funded.forcedTransfer(a, outsider, 1, {"from": outsider}),
        lambda: funded.recoveryAddress(a, outsider, identity_of(a), {"from": outsider}),
        lambda: funded.setAddressFrozen(a, True, {"from": owner}),
        lambda: funded.freezePartialTokens(a, 1, {"from": outsider}),
        lambda: funded.distributeRevenue(1, REPORT, {"from": owner}),
        lambda: funded.claimIncomeFor(a, {"from": outsider}),
        lambda: funded.claimIncomeForBatch([a], {"from": outsider}),
        lambda: funded.batchMint([a], [1], {"from": outsider}),
    ):
        with reverts_with("NotAgent"):
            call()
    for call in (
        lambda: funded.setComplianceParams(0, 0, 0, 0, False, {"from": agent}),
        lambda: funded.setCountriesAllowed([1], True, {"from": agent}),
        lambda: funded.setName("x", {"from": agent}),
        lambda: funded.setIdentityRegistry(outsider, {"from": agent}),
        lambda: funded.addAgent(outsider, {"from": agent}),
    ):
        with reverts_with("NotOwner"):
            call()
    with reverts_with("NotOwnerOrAgent"):
        funded.sweepDust(outsider, {"from": outsider})


def _topic_hash(value) -> str:
    """An indexed string arrives as its keccak256 hash (brownie: hex str or bytes)."""
    return value.hex().removeprefix("0x") if isinstance(value, bytes) else str(value).removeprefix("0x")


def test_token_information(funded, owner, outsider):
    tx = funded.setName("New", {"from": owner})
    ev = tx.events["UpdatedTokenInformation"]
    # ERC-3643: name and symbol are indexed, so the log carries their hashes.
    assert _topic_hash(ev["_newName"]) == web3.keccak(text="New").hex().removeprefix("0x")
    assert _topic_hash(ev["_newSymbol"]) == web3.keccak(text="DEV").hex().removeprefix("0x")
    assert ev["_newDecimals"] == 0 and ev["_newVersion"] == funded.version() == "medrwa-1.0.0"
    assert ev["_newOnchainID"] == brownie.ZERO_ADDRESS
    funded.setSymbol("NEW", {"from": owner})
    tx = funded.setOnchainID(outsider, {"from": owner})
    assert tx.events["UpdatedTokenInformation"]["_newOnchainID"] == outsider
    assert (funded.name(), funded.symbol(), funded.onchainID()) == ("New", "NEW", outsider)
    tx = funded.setIdentityRegistry(outsider, {"from": owner})
    assert tx.events["IdentityRegistryAdded"]["_identityRegistry"] == outsider
    assert funded.identityRegistry() == outsider


def test_mint_burn(funded, investors, agent):
    a, b = investors[:2]
    tx = funded.mint(a, 5, {"from": agent})
    assert tx.events["Transfer"]["from"] == brownie.ZERO_ADDRESS
    funded.freezePartialTokens(b, 40, {"from": agent})
    tx = funded.burn(b, 30, {"from": agent})  # 10 free + 20 unfrozen
    assert tx.events["TokensUnfrozen"]["_amount"] == 20
    assert funded.balanceOf(b) == 20 and funded.getFrozenTokens(b) == 20
    funded.batchBurn([b], [20], {"from": agent})
    assert funded.balanceOf(b) == 0 and funded.holderCount() == 1
    with reverts_with("ERC20InsufficientBalance"):
        funded.burn(b, 1, {"from": agent})
    funded.batchMint([a, b], [1, 2], {"from": agent})
    assert funded.totalSupply() == 108


def test_forced_transfer(funded, investors, agent, outsider):
    a, b = investors[:2]
    funded.setAddressFrozen(a, True, {"from": agent})
    funded.freezePartialTokens(a, 95, {"from": agent})
    tx = funded.forcedTransfer(a, b, 10, {"from": agent})
    assert tx.events["TokensUnfrozen"]["_amount"] == 5
    assert funded.balanceOf(b) == 60 and funded.getFrozenTokens(a) == 90
    with reverts_with("TransferRestricted: 5"):
        funded.forcedTransfer(a, outsider, 1, {"from": agent})
    funded.batchForcedTransfer([b], [a], [60], {"from": agent})
    assert funded.balanceOf(a) == 150 and funded.holderCount() == 1


def test_recovery_moves_everything(funded, investors, agent, registry, usd, chain):
    a, b, new = investors[0], investors[1], investors[5]
    usd.mint(agent, 3_000, {"from": agent})
    usd.approve(funded, 2**256 - 1, {"from": agent})
    funded.distributeRevenue(10 * 10**6, REPORT, {"from": agent})  # 10 per unit of N: a 1000, b 500
    funded.freezePartialTokens(a, 30, {"from": agent})
    funded.setAddressFrozen(a, True, {"from": agent})
    # new wallet of the same investor, KYC already expired: recovery still allowed
    registry.registerIdentityWithExpiry(new, identity_of(a), DE, chain.time() + 10, {"from": agent})
    chain.sleep(20)
    chain.mine()
    assert not registry.isVerified(new)
    with reverts_with("RecoveryIdentityMismatch"):
        funded.recoveryAddress(a, new, identity_of(b), {"from": agent})
    tx = funded.recoveryAddress(a, new, identity_of(a), {"from": agent})
    assert tx.events["RecoverySuccess"]["_newWallet"] == new
    assert "IncomeMoved" in tx.events
    assert funded.balanceOf(new) == 100 and funded.balanceOf(a) == 0
    assert funded.getFrozenTokens(new) == 30 and funded.isFrozen(new)
    assert funded.withdrawableIncomeOf(new) == 1_000 and funded.withdrawableIncomeOf(a) == 0
    assert funded.holderCount() == 2
    with reverts_with("NothingToRecover"):
        funded.recoveryAddress(a, new, identity_of(a), {"from": agent})
    funded.claimIncomeFor(new, {"from": agent})
    assert usd.balanceOf(new) == 1_000


def test_forced_transfer_income_follows_investor(funded, investors, agent, registry, usd):
    a, b, a2 = investors[0], investors[1], investors[5]
    usd.mint(agent, 1_500, {"from": agent})
    usd.approve(funded, 1_500, {"from": agent})
    funded.distributeRevenue(10 * 10**6, REPORT, {"from": agent})  # 10 per unit: 1,500 pulled
    # different investors: income stays with the sender
    funded.forcedTransfer(a, b, 50, {"from": agent})
    assert funded.withdrawableIncomeOf(a) == 1_000 and funded.withdrawableIncomeOf(b) == 500
    # same identity (second wallet of investor a): income moves too
    registry.registerIdentity(a2, identity_of(a), DE, {"from": agent})
    tx = funded.forcedTransfer(a, a2, 50, {"from": agent})
    assert "IncomeMoved" in tx.events
    assert funded.withdrawableIncomeOf(a) == 0 and funded.withdrawableIncomeOf(a2) == 1_000


def test_clone_initialisation_locked(factory, token, owner, agent, registry, usd):
    from brownie import SecurityToken

    from conftest import token_params
    impl = SecurityToken.at(factory.implementation())
    p = token_params(owner, agent, registry, usd)
    with reverts_with("AlreadyInitialized"):
        impl.initialize(p, "0x" + "11" * 32, {"from": owner})
    with reverts_with("AlreadyInitialized"):
        token.initialize(p, "0x" + "11" * 32, {"from": owner})


def test_built_in_compliance_surface(funded, owner, agent, investors, outsider):
    """ERC-3643 compliance functions answered by the token itself."""
    a, b = investors[:2]
    assert funded.compliance() == funded
    assert funded.getTokenBound() == funded
    assert funded.getModules() == []
    assert not funded.isModuleBound(outsider) and not funded.isModuleBound(funded)
    assert funded.canTransfer(a, b, 10) and not funded.canTransfer(a, outsider, 10)
    tx = funded.setCompliance(funded, {"from": owner})
    assert tx.events["ComplianceAdded"]["_compliance"] == funded
    assert funded.compliance() == funded
    with reverts_with("ExternalComplianceUnsupported"):
        funded.setCompliance(outsider, {"from": owner})
    with reverts_with("NotOwner"):
        funded.setCompliance(funded, {"from": agent})


def test_erc3643_events_on_initialize(factory, owner, agent, registry, usd):
    from brownie import SecurityToken
    from web3.logs import DISCARD

    from conftest import token_params
    tx = factory.deployToken("0x" + "42" * 32, token_params(owner, agent, registry, usd), {"from": agent})
    token = tx.events["TokenDeployed"]["token"]
    # Decode the clone's logs with the token ABI: brownie decodes logs of an address it
    # does not know yet through its per-machine topic cache, which can hold an older ABI
    # of the same event signature (UpdatedTokenInformation before name/symbol were indexed).
    c = web3.eth.contract(address=token, abi=SecurityToken.abi)
    receipt = web3.eth.get_transaction_receipt(tx.txid)

    def one(event):
        (ev,) = getattr(c.events, event)().process_receipt(receipt, errors=DISCARD)
        return ev["args"]

    assert one("IdentityRegistryAdded")["_identityRegistry"] == registry
    assert one("ComplianceAdded")["_compliance"] == token
    assert one("TokenBound")["_token"] == token
    assert one("AgentAdded")["_agent"] == agent
    info = one("UpdatedTokenInformation")
    assert bytes(info["_newName"]) == bytes(web3.keccak(text="Device Token"))
    assert bytes(info["_newSymbol"]) == bytes(web3.keccak(text="DEV"))
    assert (info["_newDecimals"], info["_newVersion"]) == (0, "medrwa-1.0.0")
