import itertools
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets import valuation as v

money = st.decimals(min_value=D("1000"), max_value=D("5000000"), places=2)
frac = st.decimals(min_value=D("0"), max_value=D("0.5"), places=3)
life = st.decimals(min_value=D("2"), max_value=D("20"), places=1)
age = st.decimals(min_value=D("0"), max_value=D("30"), places=2)
cond = st.decimals(min_value=D("0.1"), max_value=D("1"), places=2)


def test_cited_useful_lives():
    assert v.USEFUL_LIFE_YEARS["CT"] == D("8.2") and v.USEFUL_LIFE_YEARS["MR"] == D("8.4")


def test_cost_approach_known_values():
    # 1,000,000 × (1 − 2/8)^2 = 562,500; × condition 0.8 = 450,000
    inp = v.CostInputs(D("1000000"), D("2"), D("8"), D("0.8"), D("0.1"), D("0"))
    assert v.cost_approach(inp) == D("450000.00")
    # old enough → salvage floor
    assert v.cost_approach(v.CostInputs(D("1000000"), D("40"), D("8"))) == D("100000.00")
    assert v.cost_approach(v.CostInputs(D("1000000"), D("0"), D("8"))) == D("1000000.00")


def test_cost_rejects_bad_inputs_and_floats():
    with pytest.raises(ValueError):
        v.cost_approach(v.CostInputs(D("1"), D("1"), D("8"), condition_factor=D("1.5")))
    with pytest.raises(TypeError):
        v.cost_approach(v.CostInputs(1000.0, D("1"), D("8")))


def test_market_approach_mean_of_adjusted():
    comps = [v.Comparable(D("600000"), D("-0.05")), v.Comparable(D("700000"), D("0.10"))]
    assert v.market_approach(comps) == D("670000.00")  # (570,000 + 770,000) / 2
    assert v.market_approach([]) is None


def test_income_approach_discounts_net_income():
    inp = v.IncomeInputs(D("10"), D("100"), D("100"), D("0"), D("0.10"), D("2"))
    # 100,000 / 1.1 + 100,000 / 1.21 = 173,553.72
    assert v.income_approach(inp) == D("173553.72")
    losing = v.IncomeInputs(D("1"), D("100"), D("10"), D("5000"), D("0.1"), D("5"))
    assert v.income_approach(losing) == D("0.00")


def test_reconcile_normalises_weights():
    r = v.reconcile({"cost": D("100"), "market": D("200"), "income": None},
                    {"cost": D("1"), "market": D("3"), "income": D("5")})
    assert r.weights == {"cost": D("0.2500"), "market": D("0.7500")}
    assert r.value == D("175.00")
    with pytest.raises(ValueError):
        v.reconcile({"cost": D("1")}, {"cost": D("0")})


@settings(max_examples=60, deadline=None)
@given(rcn=money, a1=age, a2=age, lf=life, c=cond, s=frac, o=frac)
def test_cost_value_monotone_in_age_and_floored(rcn, a1, a2, lf, c, s, o):
    lo, hi = sorted([a1, a2])
    younger = v.cost_approach(v.CostInputs(rcn, lo, lf, c, s, o))
    older = v.cost_approach(v.CostInputs(rcn, hi, lf, c, s, o))
    assert older <= younger
    assert older >= v.money(rcn * s)
    assert younger <= rcn


@settings(max_examples=60, deadline=None)
@given(vals=st.lists(st.one_of(st.none(), money), min_size=3, max_size=3),
       ws=st.lists(st.decimals(min_value=D("0.01"), max_value=D("10"), places=2), min_size=3, max_size=3))
def test_reconciliation_weights_sum_to_one_and_value_between(vals, ws):
    values = dict(zip(["cost", "market", "income"], vals, strict=True))
    if all(x is None for x in vals):
        return
    r = v.reconcile(values, dict(zip(["cost", "market", "income"], ws, strict=True)))
    assert sum(r.weights.values()) == 1
    used = [x for x in vals if x is not None]
    assert min(used) <= r.value <= max(used)


@settings(max_examples=40, deadline=None)
@given(rcn=money, lf=life)
def test_curve_never_increases(rcn, lf):
    values = [x for _, x in v.depreciation_curve(v.CostInputs(rcn, D(0), lf))]
    assert all(b <= a for a, b in itertools.pairwise(values))
