"""The chain app's management commands (chain_bootstrap)."""
