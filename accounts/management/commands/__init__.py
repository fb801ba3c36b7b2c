"""The accounts app's management commands (seed_demo)."""
