from conftest import REPORT, reverts_with

MAG = 2**40


def _fund(usd, token, agent, amount):
    usd.mint(agent, amount, {"from": agent})
    usd.approve(token, amount, {"from": agent})


def test_pro_rata_and_claim(funded, investors, agent, usd):
    a, b = investors[:2]
    _fund(usd, funded, agent, 3_000)
    tx = funded.distributeRevenue(3_000, REPORT, {"from": agent})
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
    funded.distributeRevenue(1_500, REPORT, {"from": agent})
    funded.transfer(c, 100, {"from": a})  # a sells everything after the first payout
    funded.distributeRevenue(1_500, REPORT, {"from": agent})
    assert funded.withdrawableIncomeOf(a) == 1_000
    assert funded.withdrawableIncomeOf(c) == 1_000
    assert funded.withdrawableIncomeOf(b) == 1_000


def test_claim_for_custodial_wallet(funded, investors, agent, usd, outsider):
    b = investors[1]
    _fund(usd, funded, agent, 150)
    funded.distributeRevenue(150, REPORT, {"from": agent})
    tx = funded.claimIncomeFor(b, {"from": agent})
    assert tx.events["IncomeClaimed"]["holder"] == b and tx.events["IncomeClaimed"]["by"] == agent
    assert usd.balanceOf(b) == 50 and usd.balanceOf(agent) == 0


def test_frozen_wallet_cannot_self_claim(funded, investors, agent, usd):
    a = investors[0]
    _fund(usd, funded, agent, 150)
    funded.distributeRevenue(150, REPORT, {"from": agent})
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
        token.distributeRevenue(1_000, REPORT, {"from": agent})  # 333.33... each per round
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
        token.distributeRevenue(10, REPORT, {"from": agent})


def test_distribute_gas_flat_in_holders(deploy_token, accounts, registry, agent, usd):
    t = deploy_token(countries=[])
    gas = []
    wallets = [accounts.add() for _ in range(40)]
    registry.batchRegisterIdentity(wallets, wallets, [1] * 40, {"from": agent})
    _fund(usd, t, agent, 10**9)
    t.batchMint(wallets[:1], [1], {"from": agent})
    t.distributeRevenue(1_000, REPORT, {"from": agent})  # first payout initialises storage slots
    gas.append(t.distributeRevenue(1_000, REPORT, {"from": agent}).gas_used)
    t.batchMint(wallets[1:], [1] * 39, {"from": agent})
    gas.append(t.distributeRevenue(1_000, REPORT, {"from": agent}).gas_used)
    assert abs(gas[0] - gas[1]) < 500


def test_distribute_event_and_report_hash(funded, investors, agent, usd):
    _fund(usd, funded, agent, 1_000)
    with reverts_with("MissingReportHash"):
        funded.distributeRevenue(1_000, "0x" + "00" * 32, {"from": agent})
    tx = funded.distributeRevenue(1_000, REPORT, {"from": agent})  # supply 150
    ev = tx.events["RevenueDistributed"]
    assert ev["reportHash"] == REPORT and ev["by"] == agent and ev["amount"] == 1_000
    # pointsPerShare is the accumulator after the deposit; the remainder is the dust
    assert ev["pointsPerShare"] == funded.pointsPerShare() == 1_000 * MAG // 150
    assert ev["dustMagnified"] == funded.dustMagnified() == 1_000 * MAG % 150
    # the report hash is an indexed topic (filterable by the platform)
    assert tx.logs[-1]["topics"][2].hex().removeprefix("0x") == REPORT[2:]


def test_batch_claim_pays_each_holder_and_skips_empty(funded, investors, agent, usd, outsider):
    a, b, c = investors[:3]
    _fund(usd, funded, agent, 3_000)
    funded.distributeRevenue(3_000, REPORT, {"from": agent})
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


def test_sum_of_entitlements_plus_dust_equals_deposit_exactly(deploy_token, register, investors, agent, usd):
    t = deploy_token()
    for w, units in zip(investors[:4], (7, 11, 13, 2), strict=True):  # supply 33 (odd: 2^40 does not divide)
        register(w)
        t.mint(w, units, {"from": agent})
    amount = 1_000_003
    _fund(usd, t, agent, amount)
    t.distributeRevenue(amount, REPORT, {"from": agent})
    owed = sum(t.magnifiedIncomeOf(w) for w in investors[:4])
    assert owed + t.dustMagnified() == amount * MAG
    assert t.dustMagnified() == amount * MAG % 33 and t.dustMagnified() != 0


# ---------------------------------------------------------------- 18 decimals and limits

USD = 10**18  # one dollar of an 18-decimal stablecoin


def test_ten_billion_dollars_at_18_decimals(deploy_token, register, investors, agent, usd18):
    t = deploy_token(stablecoin=usd18, supply_cap=0)
    a, b, c = investors[:3]
    for w in (a, b, c):
        register(w)
    t.mint(a, 1, {"from": agent})
    total = 10**10 * USD
    _fund(usd18, t, agent, total)
    t.distributeRevenue(total // 2, REPORT, {"from": agent})  # 5 bn to a single unit
    t.mint(b, 3_000_000_000, {"from": agent})  # then 3 bn units more (correction ~ pps * 3e9)
    t.transfer(c, 1_000_000_000, {"from": b})
    t.distributeRevenue(total // 2, REPORT, {"from": agent})
    per_unit = (total // 2) * MAG // 3_000_000_001  # magnified
    assert t.withdrawableIncomeOf(a) == (total // 2 * MAG + per_unit) // MAG
    assert t.withdrawableIncomeOf(b) == 2_000_000_000 * per_unit // MAG
    assert t.withdrawableIncomeOf(c) == 1_000_000_000 * per_unit // MAG
    owed = sum(t.magnifiedIncomeOf(w) for w in (a, b, c))
    assert owed + t.dustMagnified() == total * MAG
    for w in (a, b, c):
        expected = t.withdrawableIncomeOf(w)
        assert t.claimIncome({"from": w}).return_value == expected and usd18.balanceOf(w) == expected
    assert usd18.balanceOf(t) * MAG == t.dustMagnified() + sum(t.magnifiedIncomeOf(w) for w in (a, b, c))


def test_limits_max_deposits_and_max_supply(deploy_token, register, investors, agent, usd18):
    """Worst case for the corrections: all lifetime income (2^96 - 1) lands on ONE unit,
    then the supply grows to the maximum (2^32 - 1) and moves around."""
    t = deploy_token(stablecoin=usd18, supply_cap=0)
    a, b, c = investors[:3]
    for w in (a, b, c):
        register(w)
    max_total, max_supply = t.MAX_TOTAL_DISTRIBUTED(), t.MAX_SUPPLY()
    assert (max_total, max_supply) == (2**96 - 1, 2**32 - 1)
    t.mint(a, 1, {"from": agent})
    _fund(usd18, t, agent, max_total + 1)
    t.distributeRevenue(max_total, REPORT, {"from": agent})
    assert t.pointsPerShare() == max_total * MAG  # < 2^136
    with reverts_with("AccountingOverflow"):  # lifetime deposits bound, checked before pulling funds
        t.distributeRevenue(1, REPORT, {"from": agent})
    t.mint(b, max_supply - 1, {"from": agent})  # correction -pps * (2^32 - 2) ~ -2^168 fits int184
    with reverts_with("InvalidAmount"):
        t.mint(c, 1, {"from": agent})
    with reverts_with("InvalidAmount"):
        t.mint(c, 2**32, {"from": agent})
    t.transfer(c, max_supply - 1, {"from": b})
    t.transfer(a, max_supply - 1, {"from": c})  # a now holds the whole supply
    assert t.balanceOf(a) == max_supply and t.totalSupply() == max_supply
    assert t.withdrawableIncomeOf(a) == max_total
    assert t.withdrawableIncomeOf(b) == 0 and t.withdrawableIncomeOf(c) == 0
    assert t.claimIncome({"from": a}).return_value == max_total
    assert usd18.balanceOf(a) == max_total and t.magnifiedIncomeOf(a) == 0
