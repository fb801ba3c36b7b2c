"""Compliance: investors' KYC, wallets, sanctions screening and on-chain eligibility."""
