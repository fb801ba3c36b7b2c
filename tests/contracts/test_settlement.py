"""Settlement (DvP offer board): atomic legs, compliance through the token, price echo,
fee math, partial fills, cancel, and nothing ever left in the contract."""
import brownie
import pytest
from brownie import Settlement, chain

from conftest import DE, US, reverts_with

PRICE = 2_500_000  # 2.50 USD per unit (6 decimals)


@pytest.fixture(scope="module")
def fee_wallet(accounts):
    return accounts[8]


@pytest.fixture(scope="module")
def board(owner, agent, usd, fee_wallet, factory):
    s = Settlement.deploy(owner, usd, fee_wallet, 100, factory, {"from": owner})  # 1 %
    s.addAgent(agent, {"from": owner})
    return s


@pytest.fixture
def market(funded, board, usd, investors):
    """Seller investors[0] (100 units) approved the board; buyer investors[2] (DE, verified,
    0 units) holds 1,000 USD and approved the board."""
    seller, buyer = investors[0], investors[2]
    funded.approve(board, 100, {"from": seller})
    usd.mint(buyer, 1_000 * 10**6, {"from": buyer})
    usd.approve(board, 2**256 - 1, {"from": buyer})
    return funded, seller, buyer


def post(board, token, seller, units=40, price=PRICE, ttl=3600):
    tx = board.post(token, units, price, chain.time() + ttl, {"from": seller})
    return tx.events["OfferPosted"]["offerId"]


def assert_empty(board, token, usd):
    assert token.balanceOf(board) == 0
    assert usd.balanceOf(board) == 0


def test_take_moves_both_legs_with_fee(board, market, usd, fee_wallet):
    token, seller, buyer = market
    oid = post(board, token, seller)
    usd_seller, usd_buyer = usd.balanceOf(seller), usd.balanceOf(buyer)

    tx = board.take(oid, 40, PRICE, {"from": buyer})

    paid = 40 * PRICE  # 100 USD
    fee = paid * 100 // 10_000  # 1 USD
    assert token.balanceOf(buyer) == 40 and token.balanceOf(seller) == 60
    assert usd.balanceOf(buyer) == usd_buyer - paid
    assert usd.balanceOf(seller) == usd_seller + paid - fee
    assert usd.balanceOf(fee_wallet) == fee
    ev = tx.events["OfferTaken"]
    assert (ev["offerId"], ev["buyer"], ev["seller"], ev["units"], ev["paid"], ev["fee"]) == (
        oid, buyer, seller, 40, paid, fee)
    assert board.offer(oid)[0] == brownie.ZERO_ADDRESS  # fully filled: gone
    assert_empty(board, token, usd)


def test_fee_rounds_down_and_zero_fee_skips_the_leg(board, market, usd, owner, fee_wallet):
    token, seller, buyer = market
    board.setFee(33, fee_wallet, {"from": owner})
    oid = post(board, token, seller, units=3, price=7)  # 21 base units * 0.33 % = 0.0693 -> 0
    tx = board.take(oid, 3, 7, {"from": buyer})
    assert tx.events["OfferTaken"]["fee"] == 0 and usd.balanceOf(fee_wallet) == 0
    assert len(tx.events["Transfer"]) == 2  # token leg + one stablecoin leg, no fee transfer
    oid = post(board, token, seller, units=10, price=PRICE)
    assert tuple(int(v) for v in board.quote(oid, 10)) == (25_000_000, 82_500)
    board.setFee(0, brownie.ZERO_ADDRESS, {"from": owner})
    board.take(oid, 10, PRICE, {"from": buyer})
    assert usd.balanceOf(fee_wallet) == 0
    with reverts_with("FeeTooHigh"):
        board.setFee(1_001, fee_wallet, {"from": owner})
    with reverts_with("ZeroAddress"):
        board.setFee(5, brownie.ZERO_ADDRESS, {"from": owner})
    with reverts_with("NotOwner"):
        board.setFee(5, fee_wallet, {"from": seller})


def test_partial_fills_then_exhausted(board, market, usd):
    token, seller, buyer = market
    oid = post(board, token, seller, units=30)
    board.take(oid, 10, PRICE, {"from": buyer})
    assert board.offer(oid)[2] == 20
    board.take(oid, 20, PRICE, {"from": buyer})
    assert token.balanceOf(buyer) == 30
    with reverts_with("OfferNotFound"):
        board.take(oid, 1, PRICE, {"from": buyer})
    assert_empty(board, token, usd)


def test_more_units_than_offered_is_refused(board, market, usd):
    token, seller, buyer = market
    oid = post(board, token, seller, units=5)
    with reverts_with("InsufficientUnits"):
        board.take(oid, 6, PRICE, {"from": buyer})
    with reverts_with("InsufficientUnits"):
        board.take(oid, 0, PRICE, {"from": buyer})


def test_price_echo_protects_the_buyer(board, market, usd):
    """A seller who cancels and reposts higher cannot have the buyer's old call filled at
    the new price; a stale echo fails without moving anything."""
    token, seller, buyer = market
    oid = post(board, token, seller, units=10, price=PRICE)
    before = usd.balanceOf(buyer)
    with reverts_with("PriceChanged"):
        board.take(oid, 10, PRICE * 2, {"from": buyer})
    with reverts_with("PriceChanged"):
        board.take(oid, 10, PRICE - 1, {"from": buyer})
    assert usd.balanceOf(buyer) == before and token.balanceOf(buyer) == 0


def test_compliance_refusal_reverts_both_legs(board, market, usd, investors, register):
    """Buyer in a country the token does not allow: the token leg reverts with the token's
    own ERC-1404 code and no stablecoin moves."""
    token, seller, _ = market
    us_buyer = investors[4]
    register(us_buyer, US)
    usd.mint(us_buyer, 500 * 10**6, {"from": us_buyer})
    usd.approve(board, 2**256 - 1, {"from": us_buyer})
    oid = post(board, token, seller, units=10)
    assert token.detectTransferRestriction(seller, us_buyer, 10) == 6
    with reverts_with("TransferRestricted: 6"):
        board.take(oid, 10, PRICE, {"from": us_buyer})
    assert usd.balanceOf(us_buyer) == 500 * 10**6 and usd.balanceOf(seller) == 0
    assert token.balanceOf(seller) == 100 and board.offer(oid)[2] == 10  # offer intact
    assert_empty(board, token, usd)


def test_unverified_buyer_and_short_stablecoin_revert_whole(board, market, usd, outsider, investors, register):
    token, seller, _ = market
    oid = post(board, token, seller, units=10)
    usd.mint(outsider, 100 * 10**6, {"from": outsider})
    usd.approve(board, 2**256 - 1, {"from": outsider})
    with reverts_with("TransferRestricted: 5"):
        board.take(oid, 10, PRICE, {"from": outsider})
    poor = investors[5]
    register(poor, DE)
    usd.mint(poor, 1 * 10**6, {"from": poor})  # 1 USD for a 25 USD purchase
    usd.approve(board, 2**256 - 1, {"from": poor})
    with reverts_with("ERC20InsufficientBalance"):
        board.take(oid, 10, PRICE, {"from": poor})
    assert token.balanceOf(poor) == 0 and token.balanceOf(seller) == 100  # token leg rolled back
    assert_empty(board, token, usd)


def test_post_checks_token_answer_and_allowance(board, funded, investors, agent, owner):
    seller = investors[1]  # 50 units, no approval yet
    with reverts_with("AllowanceTooLow: 0, 10"):
        board.post(funded, 10, PRICE, chain.time() + 60, {"from": seller})
    funded.approve(board, 60, {"from": seller})
    with reverts_with("TransferRestricted: 4"):  # more than the unfrozen balance
        board.post(funded, 60, PRICE, chain.time() + 60, {"from": seller})
    with reverts_with("InvalidOffer"):
        board.post(funded, 10, PRICE, chain.time() - 1, {"from": seller})
    with reverts_with("InvalidOffer"):
        board.post(funded, 10, 0, chain.time() + 60, {"from": seller})
    funded.setAddressFrozen(seller, True, {"from": agent})
    with reverts_with("TransferRestricted: 2"):
        board.post(funded, 10, PRICE, chain.time() + 60, {"from": seller})
    funded.setAddressFrozen(seller, False, {"from": agent})
    funded.setComplianceParams(1_000_000, 0, 0, chain.time() + 86_400, True, {"from": owner})
    with reverts_with("TransferRestricted: 9"):  # lock-up
        board.post(funded, 10, PRICE, chain.time() + 60, {"from": seller})


def test_lockup_after_posting_blocks_the_fill(board, market, usd, owner):
    token, seller, buyer = market
    oid = post(board, token, seller, units=10)
    token.setComplianceParams(1_000_000, 0, 0, chain.time() + 86_400, True, {"from": owner})
    with reverts_with("TransferRestricted: 9"):
        board.take(oid, 10, PRICE, {"from": buyer})
    assert usd.balanceOf(seller) == 0


def test_expiry(board, market):
    token, seller, buyer = market
    oid = post(board, token, seller, units=10, ttl=100)
    chain.sleep(200)
    chain.mine()
    with reverts_with("OfferExpired"):
        board.take(oid, 10, PRICE, {"from": buyer})


def test_cancel_by_seller_or_agent_only(board, market, agent, investors):
    token, seller, buyer = market
    a = post(board, token, seller, units=10)
    b = post(board, token, seller, units=10)
    with reverts_with("NotSellerOrAgent"):
        board.cancel(a, {"from": buyer})
    tx = board.cancel(a, {"from": seller})
    assert tx.events["OfferCancelled"]["by"] == seller
    board.cancel(b, {"from": agent})  # e.g. the seller's wallet was frozen
    for oid in (a, b):
        with reverts_with("OfferNotFound"):
            board.take(oid, 1, PRICE, {"from": buyer})
    with reverts_with("OfferNotFound"):
        board.cancel(a, {"from": seller})


def test_seller_cannot_take_own_offer_and_withdrawn_allowance_fails(board, market, usd):
    token, seller, buyer = market
    oid = post(board, token, seller, units=10)
    with reverts_with("SelfTrade"):
        board.take(oid, 10, PRICE, {"from": seller})
    token.approve(board, 0, {"from": seller})
    with reverts_with("ERC20InsufficientAllowance"):
        board.take(oid, 10, PRICE, {"from": buyer})
    assert usd.balanceOf(seller) == 0


def test_income_stays_with_seller_buyer_earns_next(board, market, usd, agent):
    """Unclaimed income belongs to whoever held the units at the distribution."""
    token, seller, buyer = market
    usd.mint(agent, 10**9, {"from": agent})
    usd.approve(token, 2**256 - 1, {"from": agent})
    token.distributeRevenue(10**12, "0x" + "11" * 32, {"from": agent})  # USD 1 per unit of N; supply 150
    assert token.withdrawableIncomeOf(seller) == 100 * 10**6
    oid = post(board, token, seller, units=50)
    board.take(oid, 50, PRICE, {"from": buyer})
    assert token.withdrawableIncomeOf(seller) == 100 * 10**6
    assert token.withdrawableIncomeOf(buyer) == 0
    token.distributeRevenue(10**12, "0x" + "22" * 32, {"from": agent})
    assert token.withdrawableIncomeOf(seller) == 150 * 10**6
    assert token.withdrawableIncomeOf(buyer) == 50 * 10**6


def test_zero_balance_invariant_over_a_sequence(board, market, usd, investors, register, agent):
    token, seller, buyer = market
    other = investors[1]
    token.approve(board, 50, {"from": other})
    ids = [post(board, token, seller, units=20), post(board, token, other, units=25, price=3)]
    steps = [
        lambda: board.take(ids[0], 5, PRICE, {"from": buyer}),
        lambda: board.take(ids[1], 25, 3, {"from": buyer}),
        lambda: board.cancel(ids[0], {"from": agent}),
        lambda: post(board, token, seller, units=1),
    ]
    for step in steps:
        step()
        assert_empty(board, token, usd)
    assert token.balanceOf(buyer) == 30


def test_fee_is_bound_when_posted(board, market, usd, owner, fee_wallet):
    """Raising the fee after an offer is posted does not reach it; lowering it does."""
    token, seller, buyer = market
    oid = post(board, token, seller, units=20)  # posted at 1 %
    board.setFee(500, fee_wallet, {"from": owner})  # 5 %
    assert board.offerFeeBps(oid) == 100
    assert tuple(int(v) for v in board.quote(oid, 10)) == (25_000_000, 250_000)
    tx = board.take(oid, 10, PRICE, {"from": buyer})
    assert tx.events["OfferTaken"]["fee"] == 250_000
    board.setFee(10, fee_wallet, {"from": owner})  # 0.1 %: the seller gets the lower fee
    tx = board.take(oid, 10, PRICE, {"from": buyer})
    assert tx.events["OfferTaken"]["fee"] == 25_000


def test_only_tokens_of_the_factory_can_be_posted(board, funded, investors, registry, owner, agent, usd):
    """A token deployed outside the platform's factory, even a real SecurityToken, cannot be
    listed: its trades would otherwise show as market data of the platform's board."""
    from brownie import SecurityToken, TokenFactory

    impl = SecurityToken.deploy({"from": owner})
    rogue_factory = TokenFactory.deploy(owner, impl, {"from": owner})
    rogue_factory.addAgent(agent, {"from": owner})
    params = ("Rogue", "RGE", owner, agent, registry, usd, 1_000, 0, 0, 0, [DE, US], 1_000, "0x" + "77" * 32)
    tx = rogue_factory.deployToken("0x" + "ab" * 32, params, {"from": agent})
    rogue = SecurityToken.at(tx.events["TokenDeployed"]["token"])
    seller = investors[0]
    rogue.mint(seller, 10, {"from": agent})
    rogue.approve(board, 10, {"from": seller})
    with reverts_with("UnknownToken"):
        board.post(rogue, 10, PRICE, chain.time() + 60, {"from": seller})


def test_take_for_pays_from_the_agent_and_delivers_to_the_buyer(board, market, usd, agent, fee_wallet):
    """A card-funded fill: the agent's stablecoin goes straight to the seller, the units to
    the buyer, in one transaction; the buyer's wallet never holds the payment."""
    token, seller, buyer = market
    oid = post(board, token, seller, units=10)
    usd.mint(agent, 25 * 10**6, {"from": agent})
    usd.approve(board, 25 * 10**6, {"from": agent})
    buyer_usd = usd.balanceOf(buyer)
    tx = board.takeFor(oid, 10, PRICE, buyer, {"from": agent})
    ev = tx.events["OfferTaken"]
    assert (ev["buyer"], ev["seller"], ev["units"], ev["paid"]) == (buyer, seller, 10, 25 * 10**6)
    assert token.balanceOf(buyer) == 10 and usd.balanceOf(buyer) == buyer_usd
    assert usd.balanceOf(agent) == 0 and usd.balanceOf(fee_wallet) == 250_000
    assert usd.balanceOf(seller) == 25 * 10**6 - 250_000
    assert_empty(board, token, usd)


def test_take_for_is_agent_only_and_reverts_whole(board, market, usd, agent, investors, register):
    token, seller, buyer = market
    oid = post(board, token, seller, units=10)
    with reverts_with("NotAgent"):
        board.takeFor(oid, 10, PRICE, buyer, {"from": buyer})
    with reverts_with("ZeroAddress"):
        board.takeFor(oid, 10, PRICE, brownie.ZERO_ADDRESS, {"from": agent})
    with reverts_with("SelfTrade"):
        board.takeFor(oid, 10, PRICE, seller, {"from": agent})
    us_buyer = investors[4]
    register(us_buyer, US)
    usd.mint(agent, 25 * 10**6, {"from": agent})
    usd.approve(board, 25 * 10**6, {"from": agent})
    with reverts_with("TransferRestricted: 6"):  # the token refuses the buyer: nothing moves
        board.takeFor(oid, 10, PRICE, us_buyer, {"from": agent})
    token.approve(board, 0, {"from": seller})  # a seller who withdraws the allowance
    with reverts_with("ERC20InsufficientAllowance"):
        board.takeFor(oid, 10, PRICE, buyer, {"from": agent})
    assert usd.balanceOf(agent) == 25 * 10**6 and token.balanceOf(buyer) == 0
    assert_empty(board, token, usd)
