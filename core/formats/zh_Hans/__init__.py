"""Number and date formats for Simplified Chinese."""
