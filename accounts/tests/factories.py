import factory

from accounts.models import Membership, Organization, User
from core.roles import CLINIC_ROLES, Role

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Clinic {n}")
    kind = Organization.Kind.CLINIC
    country = "US"


class PlatformOrganizationFactory(OrganizationFactory):
    name = factory.Sequence(lambda n: f"Platform {n}")
    kind = Organization.Kind.PLATFORM


def make_user(role: str, *, organization: Organization | None = None, **kwargs) -> User:
    """A user holding `role`; clinic roles get a new clinic unless one is given, platform
    roles join a platform organization."""
    user = UserFactory(**kwargs)
    if role == Role.INVESTOR:
        org = None
    elif role in CLINIC_ROLES:
        org = organization or OrganizationFactory()
    else:
        org = organization or Organization.objects.filter(kind=Organization.Kind.PLATFORM).first() \
            or PlatformOrganizationFactory()
    Membership.objects.create(user=user, organization=org, role=role)
    return user
