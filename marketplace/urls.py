from django.urls import path

from marketplace import views

app_name = "marketplace"

urlpatterns = [
    path("jobs/", views.job_list, name="jobs_list"),
    path("jobs/new/", views.job_create, name="job_create"),
    path("jobs/<int:job_id>/", views.job_detail, name="job_detail"),
    path("jobs/<int:job_id>/close/", views.job_close, name="job_close"),
    path("jobs/<int:job_id>/proposals/", views.job_proposals, name="job_proposals"),
    path("jobs/<int:job_id>/proposals/new/", views.proposal_create, name="proposal_create"),
    path("proposals/<int:proposal_id>/", views.proposal_detail, name="proposal_detail"),
    path("proposals/<int:proposal_id>/edit/", views.proposal_edit, name="proposal_edit"),
    path("proposals/<int:proposal_id>/withdraw/", views.proposal_withdraw, name="proposal_withdraw"),
    path("proposals/<int:proposal_id>/decline/", views.proposal_decline, name="proposal_decline"),
]
