from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from marketplace import views

# Jobs and proposals, under the `marketplace:` namespace; `home` and `profile` stay global.
marketplace_patterns = [
    path("jobs/", views.job_list, name="jobs_list"),
    path("jobs/new/", views.job_create, name="job_create"),
    path("jobs/<int:job_id>/", views.job_detail, name="job_detail"),
    path("jobs/<int:job_id>/close/", views.job_close, name="job_close"),
    path("jobs/<int:job_id>/proposals/", views.job_proposals, name="job_proposals"),
    path("jobs/<int:job_id>/proposals/new/", views.proposal_create, name="proposal_create"),
    path("proposals/<int:proposal_id>/", views.proposal_detail, name="proposal_detail"),
    path("proposals/<int:proposal_id>/edit/", views.proposal_edit, name="proposal_edit"),
    path("proposals/<int:proposal_id>/withdraw/", views.proposal_withdraw, name="proposal_withdraw"),
    path("proposals/<int:proposal_id>/accept/", views.proposal_accept, name="proposal_accept"),
    path("proposals/<int:proposal_id>/decline/", views.proposal_decline, name="proposal_decline"),
]

# The admin login goes through allauth so it shares its rate limits and verification.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "Milestone administration"
admin.site.site_title = "Milestone admin"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz/", views.healthz, name="healthz"),
    path("profile/", views.profile_edit, name="profile"),
    path("", include((marketplace_patterns, "marketplace"))),
    path("wallet/", include("payments.urls")),
    path("contracts/", include("contracts.urls")),
    path("milestones/", include("milestones.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]

handler403 = "marketplace.views.error_403"
handler404 = "marketplace.views.error_404"
handler500 = "marketplace.views.error_500"
