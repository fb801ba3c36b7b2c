"""Offerings wing: a device's offering from terms and consent to its live token, and what
compliance officers do to tokens (agent actions, compliance parameters, holds)."""
