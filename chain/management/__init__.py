"""The chain app's management commands."""
