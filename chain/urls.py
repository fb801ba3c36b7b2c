app_name = "chain"
urlpatterns: list = []
