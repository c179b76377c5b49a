from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from marketplace import views

# The admin login goes through allauth so it shares its rate limits and verification.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "Milestone administration"
admin.site.site_title = "Milestone admin"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz/", views.healthz, name="healthz"),
    path("profile/", views.profile_edit, name="profile"),
    path("wallet/", include("payments.urls")),
    path("contracts/", include("contracts.urls")),
    path("milestones/", include("milestones.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]

handler403 = "marketplace.views.error_403"
handler404 = "marketplace.views.error_404"
handler500 = "marketplace.views.error_500"
