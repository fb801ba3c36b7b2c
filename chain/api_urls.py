"""The chain app has no API routes (callers use its services)."""

urlpatterns: list = []
