from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from contracts import views as contract_views
from core import views as core_views
from users import views as user_views

# The admin login goes through allauth so it shares its rate limits and verification.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "Milestone administration"
admin.site.site_title = "Milestone admin"

urlpatterns = [
    path("", contract_views.dashboard, name="home"),
    path("healthz/", core_views.healthz, name="healthz"),
    path("profile/", user_views.profile_edit, name="profile"),
    path("", include("marketplace.urls")),
    path("", include("reputation.urls")),
    path("wallet/", include("payments.urls")),
    path("contracts/", include("contracts.urls")),
    path("milestones/", include("milestones.urls")),
    path("disputes/", include("disputes.urls")),
    path("notifications/", include("notifications.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]

if settings.BENCH_VIEWS:
    urlpatterns.append(path("bench/bare/", core_views.bench_bare, name="bench_bare"))

handler403 = "core.views.error_403"
handler404 = "core.views.error_404"
handler500 = "core.views.error_500"
