from conftest import reverts_with

MAG = 2**40


def _fund(usd, token, agent, amount):
    usd.mint(agent, amount, {"from": agent})
    usd.approve(token, amount, {"from": agent})


def test_pro_rata_and_claim(funded, investors, agent, usd):
    a, b = investors[:2]
    _fund(usd, funded, agent, 3_000)
    tx = funded.distributeRevenue(3_000, {"from": agent})
    ev = tx.events["RevenueDistributed"]
    assert ev["amount"] == 3_000 and ev["by"] == agent
    assert funded.withdrawableIncomeOf(a) == 2_000 and funded.withdrawableIncomeOf(b) == 1_000
    tx = funded.claimIncome({"from": a})
    assert tx.events["IncomeClaimed"]["amount"] == 2_000 and tx.return_value == 2_000
    assert usd.balanceOf(a) == 2_000 and funded.withdrawableIncomeOf(a) == 0
    with reverts_with("NothingToClaim"):
        funded.claimIncome({"from": a})
    distributed, swept, held = funded.incomeTotals()
    assert (distributed, swept, held) == (3_000, 0, 1_000)


def test_income_stays_with_holder_at_distribution_time(funded, investors, agent, usd):
    a, b, c = investors[:3]
    _fund(usd, funded, agent, 3_000)
    funded.distributeRevenue(1_500, {"from": agent})
    funded.transfer(c, 100, {"from": a})  # a sells everything after the first payout
    funded.distributeRevenue(1_500, {"from": agent})
    assert funded.withdrawableIncomeOf(a) == 1_000
    assert funded.withdrawableIncomeOf(c) == 1_000
    assert funded.withdrawableIncomeOf(b) == 1_000


def test_claim_for_custodial_wallet(funded, investors, agent, usd, outsider):
    b = investors[1]
    _fund(usd, funded, agent, 150)
    funded.distributeRevenue(150, {"from": agent})
    tx = funded.claimIncomeFor(b, {"from": agent})
    assert tx.events["IncomeClaimed"]["holder"] == b and tx.events["IncomeClaimed"]["by"] == agent
    assert usd.balanceOf(b) == 50 and usd.balanceOf(agent) == 0


def test_frozen_wallet_cannot_self_claim(funded, investors, agent, usd):
    a = investors[0]
    _fund(usd, funded, agent, 150)
    funded.distributeRevenue(150, {"from": agent})
    funded.setAddressFrozen(a, True, {"from": agent})
    with reverts_with("TransferRestricted: 2"):
        funded.claimIncome({"from": a})
    funded.claimIncomeFor(a, {"from": agent})
    assert usd.balanceOf(a) == 100


def test_dust_tracking_and_sweep(token, investors, agent, register, usd, owner):
    a, b, c = investors[:3]
    for w in (a, b, c):
        register(w)
        token.mint(w, 1, {"from": agent})  # supply 3
    _fund(usd, token, agent, 10 * 1_000)
    for _ in range(10):
        token.distributeRevenue(1_000, {"from": agent})  # 333.33... each per round
    for w in (a, b, c):
        assert token.withdrawableIncomeOf(w) == 3_333
    # 10 * 1000 * MAG % 3 remainders; whole units sweepable, sub-unit rest stays tracked
    dust_units = token.sweepableDust()
    owed = sum(token.withdrawableIncomeOf(w) for w in (a, b, c))
    assert owed + dust_units <= 10_000 and 10_000 - owed - dust_units <= 3
    if dust_units:
        tx = token.sweepDust(owner, {"from": owner})
        assert tx.events["DustSwept"]["amount"] == dust_units
    with reverts_with("NoDust"):
        token.sweepDust(owner, {"from": agent})
    for w in (a, b, c):
        token.claimIncome({"from": w})
    assert usd.balanceOf(token) <= 3  # only sub-unit remainders are left


def test_distribute_requires_supply(token, agent, usd):
    _fund(usd, token, agent, 10)
    with reverts_with("NothingToDistribute"):
        token.distributeRevenue(10, {"from": agent})


def test_distribute_gas_flat_in_holders(deploy_token, accounts, registry, agent, usd):
    t = deploy_token(countries=[])
    gas = []
    wallets = [accounts.add() for _ in range(40)]
    registry.batchRegisterIdentity(wallets, wallets, [1] * 40, {"from": agent})
    _fund(usd, t, agent, 10**9)
    t.batchMint(wallets[:1], [1], {"from": agent})
    t.distributeRevenue(1_000, {"from": agent})  # first payout initialises storage slots
    gas.append(t.distributeRevenue(1_000, {"from": agent}).gas_used)
    t.batchMint(wallets[1:], [1] * 39, {"from": agent})
    gas.append(t.distributeRevenue(1_000, {"from": agent}).gas_used)
    assert abs(gas[0] - gas[1]) < 500
