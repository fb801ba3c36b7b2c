"""Revenue distribution: `distributeRevenue(pool, reportHash)` spreads the WHOLE device's
holders' pool over all N = totalUnits units. A holder of k units earns k/N of the pool
whatever part of N is sold; only the outstanding units' part is pulled from the depositor
(rounded up), the unsold units' part is never pulled."""
from conftest import REPORT, TERMS, reverts_with

MAG = 2**40
MAX_SUPPLY_UNITS = 2**32 - 1
N = 1_000_000  # conftest's default totalUnits


def _fund(usd, token, agent, amount):
    usd.mint(agent, amount, {"from": agent})
    usd.approve(token, amount, {"from": agent})


def split(pool, supply, units):
    """The contract's arithmetic: (amount pulled, magnified increment per unit, dust added)."""
    inc = pool * MAG // units
    credited = inc * supply
    amount = -(-credited // MAG)
    return amount, inc, amount * MAG - credited


def test_pro_rata_and_claim(funded, investors, agent, usd):
    a, b = investors[:2]
    # supply 150 of N = 1,000,000: a pool of 20,000,000 is 20 per unit; only 150 units'
    # part (3,000) is pulled, so funding 3,000 is enough
    _fund(usd, funded, agent, 3_000)
    tx = funded.distributeRevenue(20_000_000, REPORT, {"from": agent})
    ev = tx.events["RevenueDistributed"]
    assert (ev["by"], ev["pool"], ev["amount"], ev["unitsOutstanding"]) == (agent, 20_000_000, 3_000, 150)
    assert funded.withdrawableIncomeOf(a) == 2_000 and funded.withdrawableIncomeOf(b) == 1_000
    tx = funded.claimIncome({"from": a})
    assert tx.events["IncomeClaimed"]["amount"] == 2_000 and tx.return_value == 2_000
    assert usd.balanceOf(a) == 2_000 and funded.withdrawableIncomeOf(a) == 0
    with reverts_with("NothingToClaim"):
        funded.claimIncome({"from": a})
    distributed, swept, held = funded.incomeTotals()
    assert (distributed, swept, held) == (3_000, 0, 1_000)  # distributed counts what was pulled


def test_k_of_n_with_a_partly_sold_supply(deploy_token, register, investors, agent, usd):
    """1 % of the units sold to one investor: they get 1 % of the pool, not all of it."""
    t = deploy_token(total_units=10_000, supply_cap=0)
    a, b = investors[:2]
    for w in (a, b):
        register(w)
    t.mint(a, 100, {"from": agent})  # 100 of 10,000 = 1 %
    pool = 5_000_000_000  # USD 5,000 (6 decimals) for the whole device
    _fund(usd, t, agent, pool)
    tx = t.distributeRevenue(pool, REPORT, {"from": agent})
    assert tx.events["RevenueDistributed"]["amount"] == 50_000_000
    assert t.withdrawableIncomeOf(a) == 50_000_000  # 1 % of the pool
    assert usd.balanceOf(agent) == pool - 50_000_000  # the other 99 % never left the clinic
    t.mint(b, 2_400, {"from": agent})  # more sold: b holds 24 %, a still 1 %
    tx = t.distributeRevenue(pool, REPORT, {"from": agent})
    assert tx.events["RevenueDistributed"]["amount"] == 1_250_000_000  # 25 % of the pool
    assert t.withdrawableIncomeOf(a) == 100_000_000
    assert t.withdrawableIncomeOf(b) == 1_200_000_000
    assert usd.balanceOf(agent) == pool - 1_300_000_000  # funded once: 2 pools cost 13 % of one


def test_amount_pulled_is_rounded_up_and_the_rest_retained(deploy_token, register, investors, agent, usd):
    t = deploy_token(total_units=3, supply_cap=0)
    a = investors[0]
    register(a)
    t.mint(a, 1, {"from": agent})  # 1 of 3 units
    _fund(usd, t, agent, 1_000)
    amount, inc, dust = split(1_000, 1, 3)
    assert amount == 334 and inc == 1_000 * MAG // 3  # 333.33 credited, 334 pulled
    tx = t.distributeRevenue(1_000, REPORT, {"from": agent})
    ev = tx.events["RevenueDistributed"]
    assert (ev["pool"], ev["amount"], ev["unitsOutstanding"]) == (1_000, 334, 1)
    assert ev["pointsPerShare"] == t.pointsPerShare() == inc
    assert ev["dustMagnified"] == t.dustMagnified() == dust == 334 * MAG - inc
    assert usd.balanceOf(agent) == 666  # the unsold two thirds stay with the depositor
    assert usd.balanceOf(t) == 334
    assert t.magnifiedIncomeOf(a) == inc and t.withdrawableIncomeOf(a) == 333
    # the token always holds at least what it owes
    assert t.magnifiedIncomeOf(a) + t.dustMagnified() == usd.balanceOf(t) * MAG


def test_preview_equals_what_distribute_pulls(deploy_token, register, investors, agent, usd):
    t = deploy_token(total_units=7_777, supply_cap=0)
    assert tuple(t.previewDistribution(10**9)) == (0, 0)  # nothing outstanding
    a, b = investors[:2]
    for w in (a, b):
        register(w)
    _fund(usd, t, agent, 10**13)
    for units, pool in ((13, 10**9), (1_000, 123_456_789), (6_764, 1), (0, 10**12 - 7)):
        if units:
            t.mint(a if units % 2 else b, units, {"from": agent})
        supply = t.totalSupply()
        amount, inc = t.previewDistribution(pool)
        assert (amount, inc) == split(pool, supply, 7_777)[:2]
        pps, coin = t.pointsPerShare(), usd.balanceOf(agent)
        ev = t.distributeRevenue(pool, REPORT, {"from": agent}).events["RevenueDistributed"]
        assert ev["amount"] == amount and ev["unitsOutstanding"] == supply
        assert t.pointsPerShare() - pps == inc and coin - usd.balanceOf(agent) == amount
    assert tuple(t.previewDistribution(0)) == (0, 0)
    with reverts_with("AccountingOverflow"):
        t.previewDistribution(2**96)


def test_income_stays_with_holder_at_distribution_time(funded, investors, agent, usd):
    a, b, c = investors[:3]
    _fund(usd, funded, agent, 3_000)
    funded.distributeRevenue(10 * N, REPORT, {"from": agent})  # 10 per unit: 1,500 pulled
    funded.transfer(c, 100, {"from": a})  # a sells everything after the first payout
    funded.distributeRevenue(10 * N, REPORT, {"from": agent})
    assert funded.withdrawableIncomeOf(a) == 1_000
    assert funded.withdrawableIncomeOf(c) == 1_000
    assert funded.withdrawableIncomeOf(b) == 1_000


def test_claim_for_custodial_wallet(funded, investors, agent, usd, outsider):
    b = investors[1]
    _fund(usd, funded, agent, 150)
    funded.distributeRevenue(N, REPORT, {"from": agent})  # 1 per unit
    tx = funded.claimIncomeFor(b, {"from": agent})
    assert tx.events["IncomeClaimed"]["holder"] == b and tx.events["IncomeClaimed"]["by"] == agent
    assert usd.balanceOf(b) == 50 and usd.balanceOf(agent) == 0


def test_frozen_wallet_cannot_self_claim(funded, investors, agent, usd):
    a = investors[0]
    _fund(usd, funded, agent, 150)
    funded.distributeRevenue(N, REPORT, {"from": agent})
    funded.setAddressFrozen(a, True, {"from": agent})
    with reverts_with("TransferRestricted: 2"):
        funded.claimIncome({"from": a})
    funded.claimIncomeFor(a, {"from": agent})
    assert usd.balanceOf(a) == 100


def test_dust_tracking_and_sweep(deploy_token, investors, agent, register, usd, owner):
    t = deploy_token(total_units=3, supply_cap=0)
    a, b = investors[:2]
    for w in (a, b):
        register(w)
        t.mint(w, 1, {"from": agent})  # 2 of 3 units sold
    _fund(usd, t, agent, 10 * 1_000)
    for _ in range(10):
        # 333.33... per unit; 666.67 credited, 667 pulled: dust grows by 1/3 unit a round
        assert t.distributeRevenue(1_000, REPORT, {"from": agent}).events["RevenueDistributed"]["amount"] == 667
    for w in (a, b):
        assert t.withdrawableIncomeOf(w) == 3_333
    assert usd.balanceOf(agent) == 10_000 - 6_670  # the unsold unit's part was never pulled
    assert t.dustMagnified() == 10 * (667 * MAG - 2 * (1_000 * MAG // 3))
    assert t.sweepableDust() == 3
    tx = t.sweepDust(owner, {"from": owner})
    assert tx.events["DustSwept"]["amount"] == 3 and usd.balanceOf(owner) == 3
    with reverts_with("NoDust"):
        t.sweepDust(owner, {"from": agent})
    for w in (a, b):
        t.claimIncome({"from": w})
    assert usd.balanceOf(t) == 1  # only sub-unit remainders are left (2 x 1/3 + dust)
    assert t.magnifiedIncomeOf(a) + t.magnifiedIncomeOf(b) + t.dustMagnified() == MAG


def test_distribute_requires_supply_and_pool(token, register, investors, agent, usd):
    _fund(usd, token, agent, 10)
    with reverts_with("NothingToDistribute"):
        token.distributeRevenue(10, REPORT, {"from": agent})
    register(investors[0])
    token.mint(investors[0], 1, {"from": agent})
    with reverts_with("NothingToDistribute"):
        token.distributeRevenue(0, REPORT, {"from": agent})
    with reverts_with("AccountingOverflow"):  # pool * MAGNITUDE bound, before any funds move
        token.distributeRevenue(2**96, REPORT, {"from": agent})
    assert usd.balanceOf(agent) == 10


def test_distribute_gas_flat_in_holders(deploy_token, accounts, registry, agent, usd):
    t = deploy_token(countries=[])
    gas = []
    wallets = [accounts.add() for _ in range(40)]
    registry.batchRegisterIdentity(wallets, wallets, [1] * 40, {"from": agent})
    _fund(usd, t, agent, 10**9)
    t.batchMint(wallets[:1], [1], {"from": agent})
    t.distributeRevenue(10**7, REPORT, {"from": agent})  # first payout initialises storage slots
    gas.append(t.distributeRevenue(10**7, REPORT, {"from": agent}).gas_used)
    t.batchMint(wallets[1:], [1] * 39, {"from": agent})
    gas.append(t.distributeRevenue(10**7, REPORT, {"from": agent}).gas_used)
    assert abs(gas[0] - gas[1]) < 500


def test_distribute_event_and_report_hash(funded, investors, agent, usd):
    _fund(usd, funded, agent, 1_000)
    with reverts_with("MissingReportHash"):
        funded.distributeRevenue(1_234_567, "0x" + "00" * 32, {"from": agent})
    tx = funded.distributeRevenue(1_234_567, REPORT, {"from": agent})  # supply 150 of N
    amount, inc, dust = split(1_234_567, 150, N)
    assert amount == 186  # 150 * 1.234567 = 185.19, rounded up
    ev = tx.events["RevenueDistributed"]
    assert ev["reportHash"] == REPORT and ev["by"] == agent
    assert (ev["pool"], ev["amount"], ev["unitsOutstanding"]) == (1_234_567, amount, 150)
    # pointsPerShare is the accumulator after the deposit; the rounding-up excess is the dust
    assert ev["pointsPerShare"] == funded.pointsPerShare() == inc == 1_234_567 * MAG // N
    assert ev["dustMagnified"] == funded.dustMagnified() == dust != 0
    # the report hash is an indexed topic (filterable by the platform)
    assert tx.logs[-1]["topics"][2].hex().removeprefix("0x") == REPORT[2:]


def test_batch_claim_pays_each_holder_and_skips_empty(funded, investors, agent, usd, outsider):
    a, b, c = investors[:3]
    _fund(usd, funded, agent, 3_000)
    funded.distributeRevenue(20 * N, REPORT, {"from": agent})
    funded.setAddressFrozen(a, True, {"from": agent})  # custodial claims still pay frozen holders
    with reverts_with("NotAgent"):
        funded.claimIncomeForBatch([a, b], {"from": outsider})
    tx = funded.claimIncomeForBatch([a, c, b, a, outsider], {"from": agent})
    assert tx.return_value == 3_000
    paid = [(e["holder"], e["by"], e["amount"]) for e in tx.events["IncomeClaimed"]]
    assert paid == [(a, agent, 2_000), (b, agent, 1_000)]  # c, the repeat and outsider skipped
    assert [(e["from"], e["to"]) for e in tx.events["Transfer"]] == [(funded, a), (funded, b)]
    assert usd.balanceOf(a) == 2_000 and usd.balanceOf(b) == 1_000
    assert usd.balanceOf(agent) == 0 and usd.balanceOf(c) == 0 and usd.balanceOf(outsider) == 0
    assert funded.withdrawableIncomeOf(a) == 0 and funded.withdrawableIncomeOf(b) == 0
    assert funded.claimIncomeForBatch([a, b], {"from": agent}).return_value == 0
    assert funded.claimIncomeForBatch([], {"from": agent}).return_value == 0


def test_sum_of_entitlements_plus_dust_equals_pulled_exactly(deploy_token, register, investors, agent, usd):
    t = deploy_token(total_units=97, supply_cap=0)
    for w, units in zip(investors[:4], (7, 11, 13, 2), strict=True):  # 33 of 97 (odd: 2^40 does not divide)
        register(w)
        t.mint(w, units, {"from": agent})
    pool = 1_000_003
    _fund(usd, t, agent, pool)
    amount, inc, dust = split(pool, 33, 97)
    assert t.distributeRevenue(pool, REPORT, {"from": agent}).events["RevenueDistributed"]["amount"] == amount
    owed = sum(t.magnifiedIncomeOf(w) for w in investors[:4])
    assert owed == 33 * inc
    assert owed + t.dustMagnified() == amount * MAG == usd.balanceOf(t) * MAG
    assert t.dustMagnified() == dust and 0 < dust < MAG
    assert amount == -(-pool * 33 // 97)  # never more than the sold units' part, rounded up
    assert usd.balanceOf(agent) == pool - amount


def test_economic_terms_views(token, factory):
    assert token.totalUnits() == N and token.termsHash() == TERMS
    assert token.factory() == factory


# ---------------------------------------------------------------- 18 decimals and limits

USD = 10**18  # one dollar of an 18-decimal stablecoin


def test_ten_billion_dollars_at_18_decimals(deploy_token, register, investors, agent, usd18):
    units = 4_000_000_000
    t = deploy_token(stablecoin=usd18, supply_cap=0, total_units=units)
    a, b, c = investors[:3]
    for w in (a, b, c):
        register(w)
    t.mint(a, 1, {"from": agent})
    total = 10**10 * USD
    _fund(usd18, t, agent, total)
    t.distributeRevenue(total // 2, REPORT, {"from": agent})  # a 5 bn pool, one unit sold
    t.mint(b, 3_000_000_000, {"from": agent})  # then 3 bn units more (correction ~ pps * 3e9)
    t.transfer(c, 1_000_000_000, {"from": b})
    t.distributeRevenue(total // 2, REPORT, {"from": agent})
    inc = (total // 2) * MAG // units  # magnified per unit and deposit
    pulled = split(total // 2, 1, units)[0] + split(total // 2, 3_000_000_001, units)[0]
    assert t.incomeTotals()[0] == pulled and usd18.balanceOf(agent) == total - pulled
    assert t.withdrawableIncomeOf(a) == 2 * inc // MAG
    assert t.withdrawableIncomeOf(b) == 2_000_000_000 * inc // MAG
    assert t.withdrawableIncomeOf(c) == 1_000_000_000 * inc // MAG
    owed = sum(t.magnifiedIncomeOf(w) for w in (a, b, c))
    assert owed + t.dustMagnified() == pulled * MAG
    for w in (a, b, c):
        expected = t.withdrawableIncomeOf(w)
        assert t.claimIncome({"from": w}).return_value == expected and usd18.balanceOf(w) == expected
    assert usd18.balanceOf(t) * MAG == t.dustMagnified() + sum(t.magnifiedIncomeOf(w) for w in (a, b, c))


def test_limits_max_deposits_on_one_unit(deploy_token, register, investors, agent, usd18):
    """The accumulator's bound: all lifetime income (2^96 - 1) on ONE unit (N = 1)."""
    t = deploy_token(stablecoin=usd18, supply_cap=0, total_units=1)
    a, b = investors[:2]
    for w in (a, b):
        register(w)
    max_total = t.MAX_TOTAL_DISTRIBUTED()
    assert max_total == 2**96 - 1
    t.mint(a, 1, {"from": agent})
    with reverts_with("TransferRestricted: 10"):  # N = 1: nothing more to sell
        t.mint(b, 1, {"from": agent})
    _fund(usd18, t, agent, max_total + 1)
    assert tuple(t.previewDistribution(max_total)) == (max_total, max_total * MAG)
    t.distributeRevenue(max_total, REPORT, {"from": agent})
    assert t.pointsPerShare() == max_total * MAG  # < 2^136
    with reverts_with("AccountingOverflow"):  # lifetime pulled bound, checked before pulling funds
        t.distributeRevenue(1, REPORT, {"from": agent})
    with reverts_with("AccountingOverflow"):
        t.previewDistribution(1)
    t.transfer(b, 1, {"from": a})
    assert t.withdrawableIncomeOf(a) == max_total and t.withdrawableIncomeOf(b) == 0
    assert t.claimIncome({"from": a}).return_value == max_total
    assert usd18.balanceOf(a) == max_total and t.magnifiedIncomeOf(a) == 0


def test_limits_max_pool_and_max_supply(deploy_token, register, investors, agent, usd18):
    """N = 2^32 - 1: the largest pool on one sold unit, then the supply grows to N and moves
    around (the largest correction reachable in one deposit)."""
    max_supply = MAX_SUPPLY_UNITS
    t = deploy_token(stablecoin=usd18, supply_cap=0, total_units=max_supply)
    a, b, c = investors[:3]
    for w in (a, b, c):
        register(w)
    max_total = t.MAX_TOTAL_DISTRIBUTED()
    assert t.MAX_SUPPLY() == max_supply == 2**32 - 1
    t.mint(a, 1, {"from": agent})
    _fund(usd18, t, agent, max_total)
    amount, inc, _ = split(max_total, 1, max_supply)
    t.distributeRevenue(max_total, REPORT, {"from": agent})
    assert t.pointsPerShare() == inc and usd18.balanceOf(t) == amount
    t.mint(b, max_supply - 1, {"from": agent})  # correction -pps * (2^32 - 2) fits int184
    with reverts_with("TransferRestricted: 10"):  # supply == N
        t.mint(c, 1, {"from": agent})
    with reverts_with("TransferRestricted: 10"):
        t.mint(c, 2**32, {"from": agent})
    with reverts_with("InvalidAmount"):
        t.burn(c, 2**32, {"from": agent})
    t.transfer(c, max_supply - 1, {"from": b})
    t.transfer(a, max_supply - 1, {"from": c})  # a now holds the whole supply
    assert t.balanceOf(a) == max_supply and t.totalSupply() == max_supply
    assert t.withdrawableIncomeOf(a) == inc // MAG
    assert t.withdrawableIncomeOf(b) == 0 and t.withdrawableIncomeOf(c) == 0
    assert split(max_total, max_supply, max_supply)[0] == max_total  # all sold: the whole pool is pulled
    t.distributeRevenue(max_total - amount, REPORT, {"from": agent})  # up to the lifetime bound
    expected = (inc + split(max_total - amount, max_supply, max_supply)[1] * max_supply) // MAG
    assert t.withdrawableIncomeOf(a) == expected
    assert t.claimIncome({"from": a}).return_value == expected
