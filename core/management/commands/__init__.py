"""The core app's management commands (rotate_encryption_keys)."""
