"""Template tags of the tokens app (income, market valuation)."""
