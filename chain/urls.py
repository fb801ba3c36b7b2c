"""The chain app has no web routes."""

app_name = "chain"
urlpatterns: list = []
