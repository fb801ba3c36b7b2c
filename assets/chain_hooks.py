"""Reactions to this app's outbox rows becoming final (registered in AssetsConfig.ready)."""

from __future__ import annotations

from assets.services import device_anchor_final


def on_anchor_final(row) -> None:
    """`assets.anchor:<device pk>:<attempt>` confirmed or failed."""
    try:
        _, device_id, attempt = row.idempotency_key.split(":")
        device_id, attempt = int(device_id), int(attempt)
    except ValueError:
        return  # not a key this app wrote
    device_anchor_final(device_id=device_id, attempt=attempt, confirmed=row.status == row.Status.CONFIRMED,
                        tx_hash=row.tx_hash or "", block_number=row.block_number, error=row.error or "")
