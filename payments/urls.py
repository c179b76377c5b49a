from django.urls import path

from payments import views

app_name = "payments"

urlpatterns = [
    path("", views.wallet, name="wallet"),
    path("add-funds/", views.add_funds, name="add_funds"),
    path("withdraw/", views.withdraw, name="withdraw"),
    path("withdraw-to-card/", views.client_withdraw, name="client_withdraw"),
    path("payout-destination/", views.payout_destination, name="payout_destination"),
    path("statement/", views.statement, name="statement"),
    path("statement.csv", views.statement_csv, name="statement_csv"),
]
