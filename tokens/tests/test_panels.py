"""The platform admin's dashboard panel: devices ready to tokenize, offerings on their way."""

import pytest
from django.urls import reverse

from tokens.models import Offering, OfferingStatus
from tokens.offerings import services
from tokens.tests.factories import make_certified_device, offering_terms

pytestmark = pytest.mark.django_db


def test_platform_admin_sees_ready_deploying_and_live(client, platform_admin):
    ready = make_certified_device()
    deploying = services.offering_create(actor=platform_admin, device=make_certified_device(),
                                         data=offering_terms(token_symbol="DEP"))
    live = services.offering_create(actor=platform_admin, device=make_certified_device(),
                                    data=offering_terms(token_symbol="LIV"))
    Offering.objects.filter(pk=deploying.pk).update(status=OfferingStatus.DEPLOYING)
    Offering.objects.filter(pk=live.pk).update(status=OfferingStatus.LIVE, token_address="0x" + "cd" * 20)

    client.force_login(platform_admin)
    html = client.get(reverse("core:dashboard")).content.decode()
    assert 'data-testid="tokens-panel"' in html
    assert "1 certified device(s) ready to tokenize · 1 offering(s) deploying · 1 live." in html
    assert str(ready) in html
    assert "DEP — Vida MRI Token</a> — Deploying token" in html
    assert "0x" + "cd" * 20 in html
    assert reverse("tokens:offering-create") in html


def test_other_roles_do_not_see_it(client, investor, compliance_officer):
    for user in (investor, compliance_officer):
        client.force_login(user)
        assert 'data-testid="tokens-panel"' not in client.get(reverse("core:dashboard")).content.decode()
