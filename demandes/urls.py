app_name = "demandes"

urlpatterns: list = []
