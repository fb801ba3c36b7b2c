"""Property tests of the income accounting with a 6- and an 18-decimal stablecoin.

After every step, exactly (magnified units, MAGNITUDE per base unit):
    sum over wallets of magnifiedIncomeOf + dustMagnified == stablecoin held by the token * MAGNITUDE
i.e. every pulled deposit is split into holder entitlements plus dust with nothing lost or
created, through mints, burns, transfers and (batch) claims. The 6-decimal run uses
N = 5,000 units (mints past N are refused), the 18-decimal run N = 2^32 - 1 and draws pools
and mints near the bounds (pool and lifetime pulled 2^96 - 1, supply 2^32 - 1), checking
that exactly the steps crossing a bound revert (AccountingOverflow / SUPPLY_CAP_EXCEEDED)
and nothing else does. The k/N economics are tested in test_economics_properties.py.
"""
from brownie.test import given
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from conftest import REPORT, reverts_with

MAG = 2**40
MAX_TOTAL, MAX_SUPPLY = 2**96 - 1, 2**32 - 1
SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
STEPS = 10
wallet = st.integers(0, 3)


def _steps(deposit, units):
    return st.lists(st.one_of(
        st.tuples(st.just("mint"), wallet, units),
        st.tuples(st.just("burn"), wallet, units),
        st.tuples(st.just("transfer"), wallet, st.tuples(wallet, units)),
        st.tuples(st.just("deposit"), wallet, deposit),
        st.tuples(st.just("claim"), wallet, st.integers(0, 3)),
    ), min_size=1, max_size=STEPS)


SMALL_UNITS = st.integers(0, 1_000)
# 6 decimals: up to USD 10 bn per deposit; 18 decimals: also deposits/mints near the bounds
STEPS_6 = _steps(st.integers(1, 10**16), SMALL_UNITS)
STEPS_18 = _steps(st.one_of(st.integers(1, 10**28), st.integers(2**94, MAX_TOTAL)),
                  st.one_of(SMALL_UNITS, st.integers(MAX_SUPPLY - 2_000, MAX_SUPPLY + 1)))


def _split(pool, supply, units):
    inc = pool * MAG // units
    amount = -(-inc * supply // MAG)
    return amount, inc


def _run_property(accounts, deploy_token, registry, agent, coin, chain, steps_strategy, units):
    token = deploy_token(stablecoin=coin, supply_cap=0, countries=[], total_units=units)
    wallets = list(accounts[2:6])
    for w in wallets:  # the in-test snapshot below replaces fn_isolation's: state may carry over
        if not registry.contains(w):
            registry.registerIdentity(w, w, 1, {"from": agent})
    coin.mint(agent, 2**100, {"from": agent})
    coin.approve(token, 2**256 - 1, {"from": agent})
    chain.snapshot()

    def exact():
        owed = sum(token.magnifiedIncomeOf(w) for w in wallets)
        assert owed + token.dustMagnified() == coin.balanceOf(token) * MAG

    @SETTINGS
    @given(steps=steps_strategy)
    def run(steps):
        chain.revert()
        deposited = 0
        for op, w, x in steps:
            supply = token.totalSupply()
            if op == "mint":
                if supply + x > units:
                    with reverts_with("TransferRestricted: 10"):
                        token.mint(wallets[w], x, {"from": agent})
                else:
                    token.mint(wallets[w], x, {"from": agent})
            elif op == "burn":
                token.burn(wallets[w], min(x, token.balanceOf(wallets[w])), {"from": agent})
            elif op == "transfer":
                to, n = x
                token.transfer(wallets[to], min(n, token.balanceOf(wallets[w])), {"from": wallets[w]})
            elif op == "deposit":
                if supply == 0:
                    continue
                amount, inc = _split(x, supply, units)
                if deposited + amount > MAX_TOTAL:
                    with reverts_with("AccountingOverflow"):
                        token.distributeRevenue(x, REPORT, {"from": agent})
                else:
                    before = token.dustMagnified()
                    ev = token.distributeRevenue(x, REPORT, {"from": agent}).events["RevenueDistributed"]
                    deposited += amount
                    assert ev["amount"] == amount and ev["unitsOutstanding"] == supply
                    assert ev["dustMagnified"] - before == amount * MAG - inc * supply
            elif op == "claim":
                owed = [token.withdrawableIncomeOf(v) for v in wallets]
                batch = wallets[w:w + x + 1]
                tx = token.claimIncomeForBatch(batch, {"from": agent})
                assert tx.return_value == sum(owed[i] for i in range(w, min(w + x + 1, 4)))
                for v in batch:
                    assert token.withdrawableIncomeOf(v) == 0
            exact()

    run()


def test_exact_accounting_6_decimals(accounts, deploy_token, registry, agent, usd, chain):
    assert usd.decimals() == 6
    _run_property(accounts, deploy_token, registry, agent, usd, chain, STEPS_6, 5_000)


def test_exact_accounting_18_decimals_near_limits(accounts, deploy_token, registry, agent, usd18, chain):
    assert usd18.decimals() == 18
    _run_property(accounts, deploy_token, registry, agent, usd18, chain, STEPS_18, MAX_SUPPLY)
