"""Simplified Chinese formats: Django's, with amounts grouped by thousands."""

# Django's zh_Hans formats group digits by 10 000 with no separator; Chinese financial
# documents (and our investors' bank statements) group amounts by thousands with commas.
from django.conf.locale.zh_Hans.formats import *  # noqa: F403

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
