"""Reactions to this app's outbox rows becoming final (registered in TokensConfig.ready)."""

from __future__ import annotations

from django.conf import settings

from chain import gateway
from chain.selectors import deployment_address
from chain.services import index_address
from tokens.models import Offering
from tokens.offerings import services


def _token_from_receipt(row) -> str:
    for log in (row.receipt or {}).get("logs", []):
        if log.get("event") == "TokenDeployed":
            return log["args"]["token"]
    return ""


def on_deploy_final(row) -> None:
    offering = Offering.objects.filter(deploy_attempt__gte=0, public_id=row.idempotency_key.split(":")[1]).first()
    if offering is None:
        return
    if row.status == row.Status.CONFIRMED:
        services.offering_token_deployed(offering=offering, token_address=_token_from_receipt(row),
                                         block_number=row.block_number)
        return
    # Second safety net: if the factory already holds a token for this device (the revert
    # was TokenAlreadyDeployed), adopt it instead of failing.

    existing = gateway.call("TokenFactory", deployment_address("TokenFactory"), "tokenForDevice",
                            offering.chain_device_id)
    if int(existing, 16) != 0:
        services.offering_token_deployed(offering=offering, token_address=existing, block_number=0)
        return
    services.offering_failed(offering=offering, error=row.error or "deployment failed")


def on_anchor_final(row) -> None:
    offering = Offering.objects.filter(public_id=row.idempotency_key.split(":")[1]).first()
    if offering is None:
        return
    if row.status == row.Status.CONFIRMED:
        offering = services.offering_anchored(offering=offering, tx_hash=row.tx_hash,
                                              block_number=row.block_number,
                                              chain_id=row.chain_id or settings.CHAIN_ID,
                                              registry_address=row.to_address)
        if offering.token_address:  # the token page shows its deployment events at once

            index_address(offering.token_address)
    else:
        services.offering_failed(offering=offering, error=row.error or "anchoring failed")


def on_agent_action_final(row) -> None:
    """Index the token right away, so the cap table shows the action's effect as soon as it
    is confirmed (a confirmed row is at the indexer's confirmation depth by definition)."""
    if row.status != row.Status.CONFIRMED:
        return

    index_address(row.to_address)
