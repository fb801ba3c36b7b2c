"""Hypothesis stateful tests of the token invariants (bounded: see brownie-config.yaml).

Invariants after every step:
- sum of balances == totalSupply; holderCount == wallets with a balance
- frozen tokens <= balance for every wallet
- holderCount <= maxHolders
- a wallet that is not verified never gains tokens through transfer, mint or
  forcedTransfer. recoveryAddress is the documented exception (same investor, new wallet,
  KYC expiry not required) and is not exercised on unverified wallets here.
- income owed + sweepable dust <= stablecoin held by the token
- registry: isVerified(w) == registered and KYC expiry (per wallet, packed in the wallet
  record) is 0 or in the future; expiries used are 0, 1 (long expired) and FAR_FUTURE
"""
import contextlib

import brownie
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DE, REPORT, US, identity_of

# brownie 1.22's `state_machine` fixture fails with its compiled base class, and
# hypothesis' RuleBasedStateMachine fails under brownie's pytest plugin, so each example is
# a generated sequence of rule steps run from a chain snapshot, invariants after each step.
MAX_HOLDERS = 4
STEPS = 15
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
OPS = ["mint", "transfer", "forced_transfer", "burn", "freeze_partial", "freeze_address",
       "expire_kyc", "renew_kyc", "distribute", "claim"]
FAR_FUTURE = 2**40

wallet = st.integers(0, 6)
amount = st.integers(0, 60)


def test_token_invariants(accounts, deploy_token, registry, agent, usd, chain):
    token = deploy_token(max_holders=MAX_HOLDERS, max_balance=150, supply_cap=500, total_units=600)
    wallets = list(accounts[2:9])
    # wallets 0-4 registered (DE), 5 registered in a disallowed country, 6 unregistered
    for w in wallets[:5]:
        registry.registerIdentity(w, identity_of(w), DE, {"from": agent})
    registry.registerIdentity(wallets[5], identity_of(wallets[5]), US, {"from": agent})
    usd.mint(agent, 10**12, {"from": agent})
    usd.approve(token, 2**256 - 1, {"from": agent})
    chain.snapshot()

    def attempt(fn, *args):
        before = {w: token.balanceOf(w) for w in wallets}
        verified = {w: registry.isVerified(w) for w in wallets}
        with contextlib.suppress(brownie.exceptions.VirtualMachineError):
            fn(*args)
        for w in wallets:
            if not verified[w]:
                assert token.balanceOf(w) <= before[w], "unverified wallet gained tokens"

    def step(op, w, o, a):
        if op == "mint":
            attempt(token.mint, wallets[w], a, {"from": agent})
        elif op == "transfer":
            attempt(token.transfer, wallets[o], a, {"from": wallets[w]})
        elif op == "forced_transfer":
            attempt(token.forcedTransfer, wallets[w], wallets[o], a, {"from": agent})
        elif op == "burn":
            attempt(token.burn, wallets[w], a, {"from": agent})
        elif op == "freeze_partial":
            attempt(token.freezePartialTokens, wallets[w], a % 20, {"from": agent})
        elif op == "freeze_address":
            token.setAddressFrozen(wallets[w], a % 2 == 1, {"from": agent})
        elif op == "expire_kyc" and w < 6:  # 1 = long expired, 0 = no expiry
            registry.setKycExpiry(wallets[w], a % 2, {"from": agent})
        elif op == "renew_kyc":  # batch renewal of registered wallets w..o (6 is unregistered)
            lo, hi = sorted((w, o))
            batch = wallets[lo:hi + 1]
            expiry = (0, 1, FAR_FUTURE)[a % 3]
            if hi < 6:
                registry.batchSetKycExpiry(batch, expiry, {"from": agent})
            else:  # one unregistered wallet reverts the whole batch
                before = [registry.kycExpiry(x) for x in batch]
                attempt(registry.batchSetKycExpiry, batch, expiry, {"from": agent})
                assert [registry.kycExpiry(x) for x in batch] == before
        elif op == "distribute":
            attempt(token.distributeRevenue, 1 + a * 83 * 600, REPORT, {"from": agent})  # pool of all 600 units
        elif op == "claim":
            attempt(token.claimIncomeFor, wallets[w], {"from": agent})

    def check_invariants():
        balances = [token.balanceOf(w) for w in wallets]
        assert sum(balances) == token.totalSupply()
        assert token.holderCount() == sum(1 for b in balances if b > 0)
        assert token.holderCount() <= MAX_HOLDERS
        for w, b in zip(wallets, balances, strict=True):
            assert token.getFrozenTokens(w) <= b
        for w in wallets:
            expiry = registry.kycExpiry(w)
            assert registry.isVerified(w) == (registry.contains(w) and expiry != 1)
        owed = sum(token.withdrawableIncomeOf(w) for w in wallets)
        assert owed + token.sweepableDust() <= usd.balanceOf(token)

    @SETTINGS
    @given(steps=st.lists(st.tuples(st.sampled_from(OPS), wallet, wallet, amount), max_size=STEPS))
    def run(steps):
        chain.revert()
        for op, w, o, a in steps:
            step(op, w, o, a)
            check_invariants()

    run()
