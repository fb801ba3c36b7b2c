"""The compliance app's management commands (load_sdn)."""
