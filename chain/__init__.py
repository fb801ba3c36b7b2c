"""Chain: the gateway to the blockchain — transaction outbox, shared contracts, indexed events."""
