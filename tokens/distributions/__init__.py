"""Distributions wing: a month's revenue from the clinic's statement to the holders' pockets —
waterfall, payment, deposit with its public proof, and the holders' income, claims, withdrawals
and statements."""
