import pytest

from accounts.models import Membership, Organization
from accounts.tests.factories import PASSWORD
from core.roles import Role
from notifications import services
from notifications.models import AUDIENCE, Category, NotificationPreference

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(client, investor):
    client.login(email=investor.email, password=PASSWORD)
    return client


def test_nav_shows_the_unread_count_and_the_list_reads_them(web, investor):
    n = services.notify(recipient=investor, category=Category.ORDERS, event_key="o1", title="Order paid",
                        body="Thanks", url="/dashboard/")
    services.notify(recipient=investor, category=Category.ORDERS, event_key="o2", title="Order completed", body="")
    page = web.get("/notifications/").content.decode()
    assert 'aria-label="Notifications 2 unread"' in page and "Order paid" in page
    r = web.post(f"/notifications/{n.pk}/read/", {"open": "1"})
    assert r.status_code == 302 and r["Location"] == "/dashboard/"
    assert "Notifications 1 unread" in web.get("/notifications/").content.decode()
    web.post("/notifications/read-all/")
    page = web.get("/notifications/").content.decode()
    assert "unread\"" not in page and "You have no unread notifications." in page


def test_preferences_page_saves_choices_and_keeps_security_on(web, investor):
    page = web.get("/notifications/preferences/").content.decode()
    assert "Security and legal notices are always emailed." in page
    # Everything ticked except orders.
    data = {f"email_{c}": "on" for c in Category.values if c != Category.ORDERS}
    r = web.post("/notifications/preferences/", data)
    assert r.status_code == 302
    prefs = dict(NotificationPreference.objects.filter(user=investor).values_list("category", "email_enabled"))
    assert prefs[Category.ORDERS] is False and prefs[Category.INCOME] is True
    assert Category.SECURITY not in prefs


def test_someone_elses_notification_is_not_found(web, user_with_role):
    from core.roles import Role

    other = user_with_role(Role.INVESTOR)
    n = services.notify(recipient=other, category=Category.ORDERS, event_key="x", title="Theirs", body="")
    assert web.post(f"/notifications/{n.pk}/read/").status_code == 404


def test_anonymous_goes_to_login(client):
    r = client.get("/notifications/")
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


def _categories_on_page(client, user) -> set[str]:
    client.force_login(user)
    page = client.get("/notifications/preferences/").content.decode()
    return {c for c in Category.values if f'name="email_{c}"' in page}


@pytest.mark.parametrize(("role", "expected"), [
    ("investor", {"security", "legal", "kyc", "orders", "income", "market"}),
    ("clinic_admin", {"security", "legal", "clinic_statements", "devices", "device_reviews", "offerings"}),
    ("clinic_staff", {"security", "legal", "device_reviews"}),
    ("appraiser", {"security", "legal", "device_reviews"}),
    ("compliance_officer", {"security", "legal", "kyc", "market", "offerings"}),
    ("platform_admin", {"security", "legal", "market", "offerings"}),
])
def test_preferences_list_only_the_categories_that_can_reach_the_role(client, user_with_role, role, expected):
    assert _categories_on_page(client, user_with_role(role)) == expected


def test_someone_with_two_roles_sees_the_categories_of_both(client, user_with_role):
    user = user_with_role(Role.INVESTOR)
    Membership.objects.create(user=user, organization=Organization.objects.create(name="Clinic", kind="clinic"),
                              role=Role.CLINIC_ADMIN)
    assert {"orders", "clinic_statements", "offerings"} <= _categories_on_page(client, user)


def test_saving_the_page_leaves_the_categories_it_does_not_list_alone(web, investor):
    NotificationPreference.objects.create(user=investor, category=Category.CLINIC_STATEMENTS, email_enabled=False)
    web.post("/notifications/preferences/", {"email_orders": "on"})
    prefs = dict(NotificationPreference.objects.filter(user=investor).values_list("category", "email_enabled"))
    assert prefs[Category.CLINIC_STATEMENTS] is False and Category.DEVICES not in prefs


def test_every_category_says_who_it_can_reach():
    assert set(AUDIENCE) == set(Category.values)
