"""Demo users, one per role. Passwords are for a local demo only and printed by seed_demo."""

import os

from django.db import transaction

from accounts.models import Membership, Organization, User
from core.permissions import Role

DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "medrwa-demo-2026")
PLATFORM_ORG = "MedRWA Platform"
CLINIC_ORG = "Northside Imaging Center"

DEMO_USERS = [
    ("clinic.admin@demo.medrwa.local", "Clara Admin", Role.CLINIC_ADMIN, CLINIC_ORG),
    ("clinic.staff@demo.medrwa.local", "Sam Staff", Role.CLINIC_STAFF, CLINIC_ORG),
    ("appraiser@demo.medrwa.local", "Avery Appraiser", Role.APPRAISER, PLATFORM_ORG),
    ("inspector@demo.medrwa.local", "Ines Inspector", Role.INSPECTOR, PLATFORM_ORG),
    ("compliance@demo.medrwa.local", "Colin Compliance", Role.COMPLIANCE_OFFICER, PLATFORM_ORG),
    ("compliance2@demo.medrwa.local", "Carmen Compliance", Role.COMPLIANCE_OFFICER, PLATFORM_ORG),
    ("investor@demo.medrwa.local", "Ivy Investor", Role.INVESTOR, None),
    ("investor2@demo.medrwa.local", "Dana Investor", Role.INVESTOR, None),  # a second, to try the market
    ("admin@demo.medrwa.local", "Pat Platform", Role.PLATFORM_ADMIN, PLATFORM_ORG),
]


@transaction.atomic
def seed(stdout) -> list[tuple[str, str, str]]:
    platform, _ = Organization.objects.get_or_create(
        name=PLATFORM_ORG, kind=Organization.Kind.PLATFORM, defaults={"country": "US"}
    )
    clinic, _ = Organization.objects.get_or_create(
        name=CLINIC_ORG, kind=Organization.Kind.CLINIC, defaults={"country": "US", "city": "Boston"}
    )
    orgs = {PLATFORM_ORG: platform, CLINIC_ORG: clinic, None: None}
    rows = []
    for email, name, role, org in DEMO_USERS:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=DEMO_PASSWORD, full_name=name,
                                            is_staff=role == Role.PLATFORM_ADMIN)
        Membership.objects.get_or_create(user=user, organization=orgs[org], role=role)
        rows.append((Role(role).label, email, DEMO_PASSWORD))
    return rows
