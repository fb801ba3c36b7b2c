"""The core app's management commands."""
