"""The primary sale's reads: offerings on sale to investors, orders visible to a user, order administration."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from core.permissions import Role, user_has_role
from tokens.ledger import with_units_taken
from tokens.models import Offering, OfferingStatus, Order

STAFF_ROLES = (Role.PLATFORM_ADMIN, Role.COMPLIANCE_OFFICER)


def offerings_for_investors() -> QuerySet[Offering]:
    """Offerings open for investment (live, token deployed), with the units orders hold now."""

    return with_units_taken(Offering.objects.filter(status=OfferingStatus.LIVE).exclude(token_address="")
                            .select_related("device", "device__organization"))


def offering_for_investor(*, offering_id) -> Offering:
    offering = offerings_for_investors().filter(pk=offering_id).first()
    if offering is None:
        raise Http404("No such offering.")
    return offering


def order_list_for_user(*, user):
    return Order.objects.filter(investor=user).select_related("offering", "offering__device", "mint_tx")


def order_get_for_user(*, user, order_id) -> Order:
    """The investor's own order; platform admins and compliance officers see any (404 otherwise)."""
    qs = Order.objects.select_related("offering", "offering__device", "offering__device__organization",
                                      "investor", "mint_tx")
    order = qs.filter(public_id=order_id).first()
    if order is None or not (order.investor_id == user.pk or user_has_role(user, *STAFF_ROLES)):
        raise Http404("No such order.")
    return order


def orders_for_admin(*, status: str = ""):
    qs = Order.objects.select_related("offering", "investor", "mint_tx")
    return qs.filter(status=status) if status else qs
