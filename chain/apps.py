"""The chain app's configuration."""

from django.apps import AppConfig


class ChainConfig(AppConfig):
    name = "chain"
