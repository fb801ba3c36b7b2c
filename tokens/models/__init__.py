"""The tokens app's models, one module per capability (wing), re-exported here so the app label,
table names and migrations stay as they were and `from tokens.models import X` works everywhere."""

from tokens.models.distributions import DISTRIBUTION_TRANSITIONS, Distribution, DistributionStatus
from tokens.models.income import IncomeClaim
from tokens.models.market import (
    MARKET_CARD_TRANSITIONS,
    MARKET_OFFER_TRANSITIONS,
    MarketCardPurchase,
    MarketCardStatus,
    MarketOffer,
    MarketOfferStatus,
    MarketTransfer,
)
from tokens.models.offerings import (
    OFFERING_TRANSITIONS,
    AgentAction,
    AgentActionKind,
    AgentActionState,
    ComplianceChange,
    HoldFreeze,
    Offering,
    OfferingStatus,
)
from tokens.models.primary import ORDER_HOLDING_STATUSES, ORDER_TRANSITIONS, Order, OrderStatus

__all__ = [
    "DISTRIBUTION_TRANSITIONS", "MARKET_CARD_TRANSITIONS", "MARKET_OFFER_TRANSITIONS", "OFFERING_TRANSITIONS",
    "ORDER_HOLDING_STATUSES", "ORDER_TRANSITIONS", "AgentAction", "AgentActionKind", "AgentActionState",
    "ComplianceChange", "Distribution", "DistributionStatus", "HoldFreeze", "IncomeClaim", "MarketCardPurchase",
    "MarketCardStatus", "MarketOffer", "MarketOfferStatus", "MarketTransfer", "Offering", "OfferingStatus", "Order",
    "OrderStatus",
]
