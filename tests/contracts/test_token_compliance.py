import brownie
import pytest

from conftest import DE, US, reverts_with

(SUCCESS, PAUSED, SENDER_FROZEN, RECEIVER_FROZEN, INSUFFICIENT, NOT_VERIFIED, COUNTRY,
 MAX_BALANCE, MAX_HOLDERS, LOCKED, SUPPLY_CAP) = range(11)


def test_erc20_surface(funded, investors):
    t = funded
    assert t.decimals() == 0
    assert t.name() == "Device Token" and t.symbol() == "DEV"
    assert t.totalSupply() == 150 and t.balanceOf(investors[0]) == 100
    assert t.compliance() == t.address
    assert t.holderCount() == 2
    assert t.version() == "medrwa-1.0.0"


def test_transfer_and_transfer_from(funded, investors):
    a, b, c = investors[:3]
    tx = funded.transfer(c, 10, {"from": a})
    assert tx.events["Transfer"]["value"] == 10
    assert funded.balanceOf(c) == 10 and funded.holderCount() == 3
    funded.approve(b, 5, {"from": a})
    with reverts_with("ERC20InsufficientAllowance"):
        funded.transferFrom(a, c, 6, {"from": b})
    funded.transferFrom(a, c, 5, {"from": b})
    assert funded.allowance(a, b) == 0 and funded.balanceOf(c) == 15
    with reverts_with("ERC20InsufficientBalance"):
        funded.transfer(c, 1000, {"from": a})
    with reverts_with("ERC20InvalidReceiver"):
        funded.transfer(brownie.ZERO_ADDRESS, 1, {"from": a})


def test_receiver_must_be_verified(funded, investors, outsider, registry, agent, register, chain):
    a = investors[0]
    assert funded.detectTransferRestriction(a, outsider, 1) == NOT_VERIFIED
    assert not funded.canTransfer(a, outsider, 1)
    with reverts_with(f"TransferRestricted: {NOT_VERIFIED}"):
        funded.transfer(outsider, 1, {"from": a})
    register(outsider, DE, chain.time() + 100)
    assert funded.canTransfer(a, outsider, 1)
    funded.transfer(outsider, 1, {"from": a})
    chain.sleep(200)
    chain.mine()
    assert funded.detectTransferRestriction(a, outsider, 1) == NOT_VERIFIED
    with reverts_with(f"TransferRestricted: {NOT_VERIFIED}"):
        funded.mint(outsider, 1, {"from": agent})


def test_country_rule(funded, investors, register, owner, agent):
    a, us_investor = investors[0], investors[4]
    register(us_investor, US)
    assert funded.detectTransferRestriction(a, us_investor, 1) == COUNTRY
    with reverts_with(f"TransferRestricted: {COUNTRY}"):
        funded.transfer(us_investor, 1, {"from": a})
    with reverts_with(f"TransferRestricted: {COUNTRY}"):
        funded.mint(us_investor, 1, {"from": agent})
    funded.transfer(investors[3], 1, {"from": a})  # FR allowed
    tx = funded.setCountriesAllowed([US], True, {"from": owner})
    assert tx.events["CountryAllowed"]["country"] == US
    assert funded.isCountryAllowed(US)
    funded.transfer(us_investor, 1, {"from": a})
    funded.setCountriesAllowed([US], False, {"from": owner})
    assert not funded.isCountryAllowed(US)
    funded.setComplianceParams(1_000_000, 0, 0, 0, False, {"from": owner})  # unrestricted
    assert funded.isCountryAllowed(US)
    funded.transfer(us_investor, 1, {"from": a})


def test_max_balance_rule(deploy_token, investors, register, agent):
    t = deploy_token(max_balance=60)
    a, b = investors[:2]
    register(a)
    register(b)
    with reverts_with(f"TransferRestricted: {MAX_BALANCE}"):
        t.mint(a, 61, {"from": agent})
    t.mint(a, 60, {"from": agent})
    t.mint(b, 50, {"from": agent})
    assert t.detectTransferRestriction(a, b, 11) == MAX_BALANCE
    with reverts_with(f"TransferRestricted: {MAX_BALANCE}"):
        t.transfer(b, 11, {"from": a})
    t.transfer(b, 10, {"from": a})
    assert t.balanceOf(b) == 60


def test_max_holders_rule(deploy_token, investors, register, agent):
    t = deploy_token(max_holders=2)
    a, b, c = investors[:3]
    for w in (a, b, c):
        register(w)
    t.mint(a, 10, {"from": agent})
    t.mint(b, 10, {"from": agent})
    with reverts_with(f"TransferRestricted: {MAX_HOLDERS}"):
        t.mint(c, 1, {"from": agent})
    assert t.detectTransferRestriction(a, c, 1) == MAX_HOLDERS
    with reverts_with(f"TransferRestricted: {MAX_HOLDERS}"):
        t.transfer(c, 1, {"from": a})
    t.transfer(b, 3, {"from": a})  # existing holder: fine
    t.transfer(c, 7, {"from": a})  # whole balance to a new holder: count unchanged
    assert t.holderCount() == 2 and t.balanceOf(a) == 0
    with reverts_with(f"TransferRestricted: {MAX_HOLDERS}"):
        t.forcedTransfer(b, a, 1, {"from": agent})
    with reverts_with("InvalidComplianceParams"):
        t.setComplianceParams(0, 0, 1, 0, True, {"from": t.owner()})


def test_lockup_rule(deploy_token, investors, register, agent, chain):
    t = deploy_token(lockup=chain.time() + 3600)
    a, b = investors[:2]
    register(a)
    register(b)
    t.mint(a, 10, {"from": agent})  # mint ignores the lock-up
    assert t.detectTransferRestriction(a, b, 1) == LOCKED
    with reverts_with(f"TransferRestricted: {LOCKED}"):
        t.transfer(b, 1, {"from": a})
    t.forcedTransfer(a, b, 1, {"from": agent})  # agent path ignores it
    chain.sleep(3700)
    chain.mine()
    t.transfer(b, 1, {"from": a})
    assert t.balanceOf(b) == 2


def test_supply_cap(deploy_token, investors, register, agent, owner):
    t = deploy_token(supply_cap=100)
    a = investors[0]
    register(a)
    t.mint(a, 100, {"from": agent})
    assert t.detectTransferRestriction(brownie.ZERO_ADDRESS, a, 1) == SUPPLY_CAP
    with reverts_with(f"TransferRestricted: {SUPPLY_CAP}"):
        t.mint(a, 1, {"from": agent})
    with reverts_with("InvalidComplianceParams"):
        t.setComplianceParams(99, 0, 0, 0, True, {"from": owner})
    tx = t.setComplianceParams(101, 0, 0, 0, True, {"from": owner})
    assert tx.events["ComplianceParamsUpdated"]["supplyCap"] == 101
    t.mint(a, 1, {"from": agent})
    t.burn(a, 50, {"from": agent})
    assert t.totalSupply() == 51
    with reverts_with("InvalidComplianceParams"):  # a cap above totalUnits (1,000,000)
        t.setComplianceParams(1_000_001, 0, 0, 0, True, {"from": owner})
    t.setComplianceParams(1_000_000, 0, 0, 0, True, {"from": owner})


def test_supply_never_exceeds_total_units(deploy_token, investors, register, agent, owner):
    t = deploy_token(supply_cap=0, total_units=120)  # cap 0 = up to totalUnits
    a, b = investors[:2]
    register(a)
    register(b)
    assert t.detectTransferRestriction(brownie.ZERO_ADDRESS, a, 121) == SUPPLY_CAP
    with reverts_with(f"TransferRestricted: {SUPPLY_CAP}"):
        t.mint(a, 121, {"from": agent})
    t.mint(a, 100, {"from": agent})
    with reverts_with(f"TransferRestricted: {SUPPLY_CAP}"):
        t.batchMint([a, b], [10, 11], {"from": agent})
    t.batchMint([a, b], [10, 10], {"from": agent})
    assert t.totalSupply() == 120 == t.totalUnits()
    assert t.detectTransferRestriction(brownie.ZERO_ADDRESS, b, 1) == SUPPLY_CAP
    assert t.detectTransferRestriction(brownie.ZERO_ADDRESS, b, 2**256 - 1) == SUPPLY_CAP
    with reverts_with(f"TransferRestricted: {SUPPLY_CAP}"):
        t.mint(b, 1, {"from": agent})
    with reverts_with("InvalidComplianceParams"):
        t.setComplianceParams(121, 0, 0, 0, True, {"from": owner})
    t.setComplianceParams(120, 0, 0, 0, True, {"from": owner})
    t.burn(a, 5, {"from": agent})  # a lost dispute: the units can be sold again, up to N
    t.mint(b, 5, {"from": agent})
    with reverts_with(f"TransferRestricted: {SUPPLY_CAP}"):
        t.mint(b, 1, {"from": agent})


def test_pause(funded, investors, agent, outsider):
    a, b = investors[:2]
    with reverts_with("NotAgent"):
        funded.pause({"from": outsider})
    tx = funded.pause({"from": agent})
    assert "Paused" in tx.events and funded.paused()
    assert funded.detectTransferRestriction(a, b, 1) == PAUSED
    with reverts_with(f"TransferRestricted: {PAUSED}"):
        funded.transfer(b, 1, {"from": a})
    funded.forcedTransfer(a, b, 1, {"from": agent})  # agents act while paused
    funded.mint(b, 1, {"from": agent})
    tx = funded.unpause({"from": agent})
    assert "Unpaused" in tx.events
    funded.transfer(b, 1, {"from": a})


def test_address_freeze(funded, investors, agent):
    a, b = investors[:2]
    tx = funded.setAddressFrozen(a, True, {"from": agent})
    assert tx.events["AddressFrozen"]["_isFrozen"] is True and funded.isFrozen(a)
    assert funded.detectTransferRestriction(a, b, 1) == SENDER_FROZEN
    assert funded.detectTransferRestriction(b, a, 1) == RECEIVER_FROZEN
    with reverts_with(f"TransferRestricted: {SENDER_FROZEN}"):
        funded.transfer(b, 1, {"from": a})
    with reverts_with(f"TransferRestricted: {RECEIVER_FROZEN}"):
        funded.transfer(a, 1, {"from": b})
    funded.batchSetAddressFrozen([a], [False], {"from": agent})
    funded.transfer(b, 1, {"from": a})


def test_partial_freeze(funded, investors, agent):
    a, b = investors[:2]
    tx = funded.freezePartialTokens(a, 90, {"from": agent})
    assert tx.events["TokensFrozen"]["_amount"] == 90 and funded.getFrozenTokens(a) == 90
    with reverts_with("FreezeAmountExceeded"):
        funded.freezePartialTokens(a, 11, {"from": agent})
    assert funded.detectTransferRestriction(a, b, 11) == INSUFFICIENT
    with reverts_with(f"TransferRestricted: {INSUFFICIENT}"):
        funded.transfer(b, 11, {"from": a})
    funded.transfer(b, 10, {"from": a})
    with reverts_with("FreezeAmountExceeded"):
        funded.unfreezePartialTokens(a, 91, {"from": agent})
    tx = funded.unfreezePartialTokens(a, 40, {"from": agent})
    assert tx.events["TokensUnfrozen"]["_amount"] == 40 and funded.getFrozenTokens(a) == 50
    funded.batchFreezePartialTokens([b], [5], {"from": agent})
    funded.batchUnfreezePartialTokens([b], [5], {"from": agent})
    assert funded.getFrozenTokens(b) == 0


@pytest.mark.parametrize("code", range(12))
def test_restriction_messages(token, code):
    msg = token.messageForTransferRestriction(code)
    assert msg and (code == 11) == (msg == "Unknown restriction")


def test_batch_transfer(funded, investors):
    a, b, c = investors[:3]
    funded.batchTransfer([b, c], [5, 6], {"from": a})
    assert funded.balanceOf(b) == 55 and funded.balanceOf(c) == 6
    with reverts_with("LengthMismatch"):
        funded.batchTransfer([b], [1, 2], {"from": a})
