"""Accounts: users who sign in by email, organizations (clinics, the platform) and role memberships."""
