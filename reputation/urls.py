from django.urls import path

from reputation import views

app_name = "reputation"

urlpatterns = [
    path("freelancers/<int:user_id>/", views.freelancer_profile, name="freelancer"),
    path("clients/<int:user_id>/", views.client_profile, name="client"),
]
