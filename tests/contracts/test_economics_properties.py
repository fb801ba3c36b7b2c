"""Property tests of the k/N economics on the real contracts (anvil).

An offering has N = totalUnits units. Each `distributeRevenue(pool, ...)` is the holders'
pool of the WHOLE device: a holder of k units is owed k/N of it, whatever part of N is sold;
the unsold units' part is never pulled from the depositor (the clinic).

Random histories of sales (mints, including ones past N, which must be refused), secondary
trades (transfers), lost disputes (burns), forced transfers (between investors, and between
two wallets of one investor, which moves the unclaimed income), recoveries (lost wallet to
the investor's other wallet), distributions, claims (own, custodial, batch) and dust sweeps:
each history is one to three first sales within N, then every kind of operation in a drawn
order with drawn arguments, then a deposit and a batch claim of every wallet, on one of five
tokens (N = 1, 3, 1,000, 999,983, 2^32 - 1). 15 examples, ~15 s. A model tracks balances,
what each wallet earned (magnified, moves included) and claimed, and each investor's ideal
income Σ k × pool / N as an exact fraction. Checked after every distribution and at the end
of each history:

- the pull: amount == ceil(floor(pool * 2^40 / N) * supply / 2^40) == previewDistribution,
  amount <= ceil(pool * supply / N) (the clinic is never charged for unsold units), and the
  depositor's balance drops by exactly that (the retained pool - amount stays with them);
- per wallet, exactly: claimed * 2^40 + magnifiedIncomeOf == Σ units held at each deposit ×
  inc (+ income moved in - moved out), so nobody accrues for units not held at a deposit;
- per investor: 0 <= Σ k × pool / N - (claimed + magnifiedIncomeOf / 2^40) < 1 per deposit;
- conservation: Σ claimed + Σ withdrawable + Σ retained + swept == Σ pools - dust, where
  dust = (Σ sub-unit income fractions + dustMagnified) / 2^40, exactly (an integer), and the
  token holds Σ pulled - Σ claimed - swept.
"""
from fractions import Fraction

import brownie
from brownie.test import given
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from conftest import REPORT, identity_of, reverts_with

MAG = 2**40
UNITS = (1, 3, 1_000, 999_983, 2**32 - 1)  # N of the tokens an example picks from
SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
WALLETS = 6
# wallets 4 and 5 are second wallets of the investors of wallets 0 and 1
INVESTOR = (0, 1, 2, 3, 0, 1)
PARTNER = {0: 4, 4: 0, 1: 5, 5: 1}

wallet = st.integers(0, WALLETS - 1)
units = st.one_of(st.integers(1, 40), st.integers(0, 2**33))  # large ones: mostly past N
pool = st.one_of(st.integers(1, 10**15), st.integers(0, 10**6))
# every history holds each operation (a random order of this multiset, random arguments):
# drawing ops one by one gives mostly histories of one repeated op at this example count
OPS = ("mint", "distribute", "transfer", "claim", "distribute", "forced", "recover", "burn",
       "distribute", "claim", "sweep")
ARGS = st.tuples(wallet, wallet, units, pool, st.integers(0, 2))
SALES = st.lists(st.tuples(wallet, st.integers(1, 40)), min_size=1, max_size=3)


def _ceil_div(a, b):
    return -(-a // b)


class Model:
    def __init__(self, n):
        self.n = n
        self.bal = [0] * WALLETS
        self.earned = [0] * WALLETS  # magnified income attributed to the wallet, moves included
        self.claimed = [0] * WALLETS  # base units paid to the wallet
        self.ideal = [Fraction(0)] * 4  # per investor: Σ k × pool / N
        self.pools = self.pulled = self.retained = self.swept = 0
        self.deposits = 0

    def move_income(self, a, b):
        moved = self.earned[a] - self.claimed[a] * MAG
        self.earned[a] -= moved
        self.earned[b] += moved


def test_k_of_n_economics(accounts, deploy_token, registry, agent, usd, chain):
    wallets = list(accounts[2:2 + WALLETS])
    sweeper = accounts[9]
    for i, w in enumerate(wallets):  # fixed identities: wallets 4, 5 belong to investors 0, 1
        if registry.contains(w):
            registry.deleteIdentity(w, {"from": agent})
        registry.registerIdentity(w, identity_of(wallets[INVESTOR[i]]), 1, {"from": agent})
    tokens = [deploy_token(supply_cap=0, countries=[], total_units=n) for n in UNITS]
    usd.mint(agent, 2**100, {"from": agent})
    for t in tokens:
        usd.approve(t, 2**256 - 1, {"from": agent})
    chain.snapshot()

    def check(token, m):
        mags = [token.magnifiedIncomeOf(w) for w in wallets]
        dust = token.dustMagnified()
        for i in range(WALLETS):  # exact per wallet: nothing for units not held at a deposit
            assert m.claimed[i] * MAG + mags[i] == m.earned[i], f"wallet {i}"
        for inv in range(4):
            got = Fraction(sum(m.claimed[i] * MAG + mags[i] for i in range(WALLETS) if INVESTOR[i] == inv), MAG)
            gap = m.ideal[inv] - got
            assert gap >= 0 and (gap < m.deposits or gap == 0), f"investor {inv}: {gap}"
        withdrawable = sum(x // MAG for x in mags)
        paid_or_owed = sum(m.claimed) + withdrawable + m.retained + m.swept
        rest = sum(x % MAG for x in mags) + dust  # sub-unit fractions + dust, magnified
        assert (m.pools - paid_or_owed) * MAG == rest
        assert usd.balanceOf(token) == m.pulled - sum(m.claimed) - m.swept
        assert m.pulled + m.retained == m.pools

    def step(token, m, op, w, to, x, p, mode):
        src = wallets[w]
        if op == "mint":
            supply = sum(m.bal)
            if supply + x > m.n:
                assert token.detectTransferRestriction(brownie.ZERO_ADDRESS, src, x) == 10
                with reverts_with("TransferRestricted: 10"):  # never more than N units
                    token.mint(src, x, {"from": agent})
            else:
                token.mint(src, x, {"from": agent})
                m.bal[w] += x
        elif op in ("transfer", "forced"):
            n = min(x, m.bal[w])
            if op == "transfer":
                token.transfer(wallets[to], n, {"from": src})
            else:
                token.forcedTransfer(src, wallets[to], n, {"from": agent})
            m.bal[w] -= n
            m.bal[to] += n
            if op == "forced" and to != w and INVESTOR[to] == INVESTOR[w]:
                m.move_income(w, to)  # same investor: the unclaimed income follows
        elif op == "burn":
            n = min(x, m.bal[w])
            token.burn(src, n, {"from": agent})
            m.bal[w] -= n
        elif op == "recover":
            if w not in PARTNER:
                return
            new = PARTNER[w]
            args = (src, wallets[new], identity_of(wallets[INVESTOR[w]]), {"from": agent})
            if m.bal[w] == 0 and m.earned[w] == m.claimed[w] * MAG:
                with reverts_with("NothingToRecover"):
                    token.recoveryAddress(*args)
                return
            token.recoveryAddress(*args)
            m.bal[new] += m.bal[w]
            m.bal[w] = 0
            m.move_income(w, new)
        elif op == "distribute":
            distribute(token, m, p)
        elif op == "claim":
            if mode == 0:
                if token.withdrawableIncomeOf(src) == 0:
                    return
                tx = token.claimIncome({"from": src})
            elif mode == 1:
                if token.withdrawableIncomeOf(src) == 0:
                    return
                tx = token.claimIncomeFor(src, {"from": agent})
            else:
                tx = token.claimIncomeForBatch(wallets[w:] + wallets[:w + 1], {"from": agent})
            if "IncomeClaimed" in tx.events:  # brownie's EventDict has no .get
                for ev in tx.events["IncomeClaimed"]:
                    m.claimed[wallets.index(ev["holder"])] += ev["amount"]
        elif op == "sweep":
            if token.sweepableDust() == 0:
                return
            m.swept += token.sweepDust(sweeper, {"from": agent}).return_value

    def distribute(token, m, p):
        supply = sum(m.bal)
        inc = p * MAG // m.n
        amount = _ceil_div(inc * supply, MAG)
        assert tuple(token.previewDistribution(p)) == ((amount, inc) if amount else (0, 0))
        if amount == 0:  # no units outstanding or a zero pool
            with reverts_with("NothingToDistribute"):
                token.distributeRevenue(p, REPORT, {"from": agent})
            return
        assert amount <= _ceil_div(p * supply, m.n) <= p  # never charged for unsold units
        before = usd.balanceOf(agent)
        ev = token.distributeRevenue(p, REPORT, {"from": agent}).events["RevenueDistributed"]
        assert (ev["pool"], ev["amount"], ev["unitsOutstanding"]) == (p, amount, supply)
        assert before - usd.balanceOf(agent) == amount  # the retained part was never pulled
        m.deposits += 1
        m.pools += p
        m.pulled += amount
        m.retained += p - amount
        for i in range(WALLETS):
            m.earned[i] += m.bal[i] * inc  # 0 for a wallet without units at the deposit
        for i in range(WALLETS):
            m.ideal[INVESTOR[i]] += Fraction(m.bal[i] * p, m.n)
        check(token, m)

    @SETTINGS
    @given(which=st.integers(0, len(UNITS) - 1), sales=SALES, ops=st.permutations(OPS),
           args=st.lists(ARGS, min_size=len(OPS), max_size=len(OPS)))
    def run(which, sales, ops, args):
        chain.revert()
        token = tokens[which]
        m = Model(UNITS[which])
        for w, x in sales:  # first sales, within N
            step(token, m, "mint", w, 0, min(x, m.n - sum(m.bal)), 0, 0)
        for op, a in zip(ops, args, strict=True):
            step(token, m, op, *a)
        distribute(token, m, 10**9)  # every history ends with a deposit and a batch claim
        step(token, m, "claim", 0, 0, 0, 0, 2)
        check(token, m)
        assert [token.balanceOf(w) for w in wallets] == m.bal
        assert token.totalSupply() == sum(m.bal) <= token.totalUnits() == m.n

    run()
