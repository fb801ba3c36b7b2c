"""An officer's forced transfers are limited in time as well as in amount (issue 15, item 6):
a per-officer rolling-window cap, a per-officer threshold across wallets, and held requests
that expire unless a second officer confirms them in time."""

import datetime as dt
import secrets

import pytest
from django.urls import reverse
from django.utils import timezone

from core.errors import ApplicationError
from core.models import AuditEvent
from tokens.models import AgentAction
from tokens.offerings import agent_confirmations, services
from tokens.tests.factories import make_live_offering

pytestmark = pytest.mark.django_db


def _wallet() -> str:
    return "0x" + secrets.token_hex(20)


def _forced(officer, offering, amount, wallet=None, reason="Court order 12"):
    return services.agent_action_request(actor=officer, offering=offering, kind="forced_transfer",
                                         wallet=wallet or _wallet(), to_wallet=_wallet(), amount=amount, reason=reason)


def _age(action, hours):
    AgentAction.objects.filter(pk=action.pk).update(created_at=timezone.now() - dt.timedelta(hours=hours))
    action.refresh_from_db()
    return action


def test_one_officer_may_request_only_so_many_forced_transfers_per_window(
        compliance_officer, compliance_officer2, settings, api_as):
    settings.AGENT_ACTION_MAX_PER_OFFICER = 3
    settings.AGENT_ACTION_WINDOW_HOURS = 24
    offering, other = make_live_offering(), make_live_offering()
    first = _forced(compliance_officer, offering, 1)
    _forced(compliance_officer, other, 1)  # every token counts
    _forced(compliance_officer, offering, 500)  # held ones count too
    before = AgentAction.objects.count()
    with pytest.raises(ApplicationError) as exc:
        _forced(compliance_officer, offering, 1)
    assert (exc.value.code, exc.value.status) == ("agent_action_rate_limited", 429)
    assert exc.value.details["limit"] == 3 and 0 < exc.value.details["retry_after_s"] <= 24 * 3600 + 1
    assert AgentAction.objects.count() == before  # nothing recorded, nothing queued
    r = api_as(compliance_officer).post(f"/api/v1/tokens/offerings/{offering.pk}/actions/", {
        "kind": "recover", "wallet": _wallet(), "to_wallet": _wallet(), "reason": "Lost key"}, format="json")
    assert r.status_code == 429 and r.json()["error"]["code"] == "agent_action_rate_limited"

    # Other actions, and other officers, are not held back.
    freeze = services.agent_action_request(actor=compliance_officer, offering=offering, kind="freeze",
                                           wallet=_wallet(), reason="Incident")
    assert freeze.chain_tx is not None
    assert _forced(compliance_officer2, offering, 1).chain_tx is not None

    # The window rolls: once the oldest request is older than it, there is room for one more.
    _age(first, 25)
    assert _forced(compliance_officer, offering, 1).chain_tx is not None
    with pytest.raises(ApplicationError):
        _forced(compliance_officer, offering, 1)


def test_small_forced_transfers_from_many_wallets_still_need_a_second_officer(compliance_officer,
                                                                               compliance_officer2, settings):
    settings.AGENT_ACTION_CONFIRM_ABOVE_UNITS = 100
    offering, other = make_live_offering(), make_live_offering()
    first = _forced(compliance_officer, offering, 60)
    assert first.state == "submitted" and first.chain_tx is not None
    # Another wallet, another token, same officer alone: 120 units in a day.
    second = _forced(compliance_officer, other, 60)
    assert second.state == "awaiting_confirmation" and second.chain_tx is None
    # Another officer has their own allowance; confirmed moves do not use the requester's.
    assert _forced(compliance_officer2, offering, 60).state == "submitted"
    agent_confirmations.agent_action_confirm(actor=compliance_officer2, action=second)
    assert _forced(compliance_officer, offering, 40).state == "submitted"
    # Outside the rolling window the earlier moves no longer count.
    AgentAction.objects.filter(actor=compliance_officer).update(created_at=timezone.now() - dt.timedelta(days=2))
    assert _forced(compliance_officer, offering, 100).state == "submitted"


def test_the_window_is_a_setting(compliance_officer, settings):
    settings.AGENT_ACTION_CONFIRM_ABOVE_UNITS = 100
    settings.AGENT_ACTION_WINDOW_HOURS = 72
    offering, wallet = make_live_offering(), _wallet()
    _age(_forced(compliance_officer, offering, 60, wallet=wallet), 48)
    assert _forced(compliance_officer, offering, 60, wallet=wallet).state == "awaiting_confirmation"


def test_a_held_forced_transfer_expires_unless_confirmed_in_time(compliance_officer, compliance_officer2, settings,
                                                                  api_as):
    settings.AGENT_ACTION_CONFIRM_ABOVE_UNITS = 100
    settings.AGENT_ACTION_CONFIRM_WITHIN_HOURS = 24
    offering = make_live_offering()
    fresh = _forced(compliance_officer, offering, 150, reason="Court order 13")
    stale = _age(_forced(compliance_officer, offering, 150, reason="Court order 14"), 25)
    assert agent_confirmations.is_expired(stale) and not agent_confirmations.is_expired(fresh)

    # The requester still cannot confirm their own, expired or not.
    with pytest.raises(ApplicationError) as exc:
        agent_confirmations.agent_action_confirm(actor=compliance_officer, action=stale)
    assert exc.value.code == "four_eyes"

    with pytest.raises(ApplicationError) as exc:
        agent_confirmations.agent_action_confirm(actor=compliance_officer2, action=stale, reason="Seen")
    assert (exc.value.code, exc.value.status) == ("confirmation_expired", 409)
    stale.refresh_from_db()
    assert stale.state == "rejected" and stale.chain_tx is None and stale.confirmed_by is None
    assert "Expired" in stale.decision_reason
    event = AuditEvent.objects.get(action="tokens.agent_action_expire")
    assert event.actor == compliance_officer2 and event.after["action"] == stale.pk
    r = api_as(compliance_officer2).post(f"/api/v1/tokens/actions/{stale.pk}/confirm/", {})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_awaiting"

    # Within the time, the confirmation goes through.
    confirmed = agent_confirmations.agent_action_confirm(actor=compliance_officer2, action=fresh)
    assert confirmed.state == "submitted" and confirmed.chain_tx is not None

    # Through the API, an expired one answers 409 with its code.
    late = _age(_forced(compliance_officer, offering, 150, reason="Court order 15"), 30)
    r = api_as(compliance_officer2).post(f"/api/v1/tokens/actions/{late.pk}/confirm/", {})
    assert r.status_code == 409 and r.json()["error"]["code"] == "confirmation_expired"
    late.refresh_from_db()
    assert late.state == "rejected"


def test_officer_page_shows_until_when_a_held_action_may_be_confirmed(client, compliance_officer,
                                                                     compliance_officer2, settings):
    settings.AGENT_ACTION_CONFIRM_ABOVE_UNITS = 100
    offering = make_live_offering()
    _forced(compliance_officer, offering, 150)
    client.force_login(compliance_officer2)  # the second officer confirms; the requester cannot
    page = client.get(reverse("tokens:agent-actions", args=[offering.pk])).content.decode()
    assert "Confirm by" in page and "Confirm (150 units)" in page
    AgentAction.objects.update(created_at=timezone.now() - dt.timedelta(days=2))
    page = client.get(reverse("tokens:agent-actions-status", args=[offering.pk])).content.decode()
    assert "Expired: not confirmed in time" in page and "Confirm (150 units)" not in page

    client.force_login(compliance_officer)
    settings.AGENT_ACTION_MAX_PER_OFFICER = 1
    AgentAction.objects.update(created_at=timezone.now())
    resp = client.post(reverse("tokens:agent-actions", args=[offering.pk]), {
        "kind": "forced_transfer", "wallet": _wallet(), "to_wallet": _wallet(), "amount": 1, "reason": "Order 16"})
    assert "the limit on forced transfers and recoveries per officer (1 in 24 h)" in resp.content.decode()
    assert AgentAction.objects.count() == 1
