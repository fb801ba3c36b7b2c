"""Core: the shell every app plugs into — audit trail, roles, errors, registries, shared helpers."""
