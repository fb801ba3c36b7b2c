"""Notifications: in-app messages to one person and their emails, with per-category preferences."""
