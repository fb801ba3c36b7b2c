import io

import pytest

from accounts import demo as accounts_demo
from compliance import demo, selectors
from compliance.models import KycCase

pytestmark = pytest.mark.django_db


def test_demo_investor_gets_an_approved_case_idempotently(identity_registry_row):
    accounts_demo.seed(io.StringIO())
    demo.seed(io.StringIO())
    demo.seed(io.StringIO())
    investor = accounts_demo.User.objects.get(email=demo.INVESTOR)
    assert KycCase.objects.filter(profile__user=investor).count() == 1
    assert selectors.investor_is_eligible(user=investor)
    second = accounts_demo.User.objects.get(email=demo.INVESTOR2)
    assert selectors.investor_is_eligible(user=second) and second.investor_profile.residence_country == "DE"


def test_demo_without_a_chain_leaves_the_case_in_review():
    out = io.StringIO()
    accounts_demo.seed(out)
    demo.seed(out)
    assert "waits in review until the chain is up" in out.getvalue()
    # Both demo investors (the second one lets a market trade be tried) wait in review.
    assert list(KycCase.objects.values_list("status", flat=True)) == [KycCase.Status.IN_REVIEW] * 2
