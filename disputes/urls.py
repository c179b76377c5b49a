from django.urls import path

from disputes import views

app_name = "disputes"

urlpatterns = [
    path("<int:pk>/", views.dispute_detail, name="detail"),
    path("<int:pk>/statements/", views.statement_add, name="statement_add"),
    path("<int:pk>/escalate/", views.dispute_escalate, name="escalate"),
    path("<int:pk>/withdraw/", views.dispute_withdraw, name="withdraw"),
    path("<int:pk>/evidence/<int:file_id>/", views.evidence_download, name="evidence_download"),
    path("<int:pk>/packet/", views.dispute_packet, name="packet"),
    path("new/<int:milestone_id>/", views.dispute_open, name="open"),
    path("offers/new/<int:milestone_id>/", views.offer_make, name="offer_make"),
    path("offers/<int:offer_id>/<str:answer>/", views.offer_answer, name="offer_answer"),
]
