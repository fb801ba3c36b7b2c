"""The compliance app's management commands."""
