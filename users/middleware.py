"""Staff open Django admin only with two-factor authentication (an authenticator app) set up."""

from collections.abc import Callable

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

STAFF_MFA_MESSAGE = (
    "Staff accounts must use two-factor authentication before opening admin: set up an authenticator app to continue."
)


class StaffMfaRequiredMiddleware:
    """Sends an authenticated staff user without an active TOTP authenticator from /admin/ to set one up.

    Sits after AuthenticationMiddleware, MessageMiddleware and allauth's AccountMiddleware.
    Everyone else, and every page outside admin, passes through untouched.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and user.is_staff
            and request.path.startswith(reverse("admin:index"))
            and not is_mfa_enabled(user, [Authenticator.Type.TOTP])
        ):
            messages.warning(request, STAFF_MFA_MESSAGE)
            return HttpResponseRedirect(reverse("mfa_activate_totp"))
        return self.get_response(request)
