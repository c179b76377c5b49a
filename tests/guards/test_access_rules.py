"""Rules for the URLs the access matrix does not list one by one: Django admin and allauth.

- admin: nobody but staff gets an admin page; anyone else is sent to log in (or, signed in, refused
  the admin login), and their GETs and POSTs change nothing. A superuser (with the authenticator app
  staff need) opens every admin page without a server error. At the arbitration desk only staff
  holding `disputes.arbitrate` decide a case; plain staff are refused and change nothing.
- allauth: every account page answers anonymous visitors and signed-in users without a server error,
  the pages about one's own account send anonymous visitors to log in, and an empty POST changes
  nothing in the project's tables.
"""

import re
from typing import Any

import pytest
from django.contrib import admin
from django.urls import reverse

from disputes.services import dispute_escalate
from tests.guards.access import (
    FORBIDDEN,
    LOGIN,
    REDIRECT,
    Route,
    is_admin,
    is_allauth,
    outcome,
    request_as,
    routes,
)
from tests.guards.world import World

pytestmark = pytest.mark.django_db
NOT_STAFF = ("anonymous", "outsider", "client", "freelancer")

# allauth pages about the signed-in user's own account: anonymous visitors must log in first.
ALLAUTH_OWN_ACCOUNT = {
    "account_email",
    "account_change_password",
    "account_set_password",
    "account_reauthenticate",
    "mfa_index",
    "mfa_reauthenticate",
    "mfa_activate_totp",
    "mfa_deactivate_totp",
    "mfa_view_recovery_codes",
    "mfa_generate_recovery_codes",
    "mfa_download_recovery_codes",
}


def _admin_object_ids(world: World) -> dict[str, str]:
    """For each admin model (by 'app_model'), the pk of a row of the world, or 0 when it has none."""
    ids = {}
    for model in admin.site._registry:
        first = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
        ids[f"{model._meta.app_label}_{model._meta.model_name}"] = str(first if first is not None else 0)
    return ids


def admin_urls(world: World) -> list[tuple[str, str]]:
    """(name, url) of every admin route, with a real object where the route names one."""
    object_ids = _admin_object_ids(world)
    urls = []
    for route in routes():
        if not is_admin(route) or not route.name:
            continue
        kwargs: dict[str, Any] = {}
        for group in _parameters(route):
            if group == "object_id":
                model = route.name.removeprefix("admin:").rsplit("_", 1)[0]
                kwargs[group] = object_ids.get(model, "0")
            elif group == "app_label":
                kwargs[group] = "users"
            else:
                kwargs[group] = "1"
        urls.append((route.name, reverse(route.name, kwargs=kwargs)))
    return urls


def _parameters(route: Route) -> list[str]:
    pattern = route.pattern.pattern
    converters = getattr(pattern, "converters", None)
    if converters:
        return list(converters)
    return list(re.compile(str(pattern)).groupindex)


def test_admin_is_for_staff_only(world):
    wrong = []
    for name, url in admin_urls(world):
        for actor in NOT_STAFF:
            for method in ("get", "post"):
                response, changed = request_as(world.users[actor], url, method)
                got = outcome(response)
                # Then: sent to a login page (admin's own login goes through allauth), never the page itself
                to_login = got == LOGIN or (got == REDIRECT and "/login/" in response["Location"])
                # Logging in or out is for anyone: signed-in non-staff are refused the admin login (403).
                entry = name in ("admin:login", "admin:logout") and got in (200, 403, LOGIN, REDIRECT)
                allowed = to_login or entry
                if not allowed or changed:
                    wrong.append(f"{method.upper()} {url} as {actor}: got {got}, changed {changed}")
    assert not wrong, "\n".join(wrong)


def test_every_admin_page_opens_for_a_superuser(world, admin_user):
    wrong = []
    for name, url in admin_urls(world):
        if name in ("admin:logout", "admin:view_on_site"):
            continue  # logging out ends the session; view_on_site leaves admin for the object's page
        response, _ = request_as(admin_user, url, "get")
        if response.status_code >= 500 or (response.status_code == 302 and "/login/" in response["Location"]):
            wrong.append(f"GET {url}: {response.status_code}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("kind", ["release", "refund", "split"])
def test_only_an_arbitrator_decides_at_the_desk(world, kind):
    # Given the world's case in arbitration (below the four-eyes threshold, so a decision settles it)
    dispute_escalate(dispute=world.dispute, actor=world.client, note="Please decide.")
    url = reverse("admin:disputes_dispute_decide", args=[world.dispute.pk, kind])
    data = {"decision": "The work was delivered late but complete.", "freelancer_amount": "100"}
    # When plain staff open or post the decision page, then they are refused and nothing changes
    for method in ("get", "post"):
        response, changed = request_as(world.users["staff"], url, method, data)
        assert (outcome(response), changed) == (FORBIDDEN, []), method
    # When the arbitrator posts a written decision, then the escrow is divided and the case closed
    response, changed = request_as(world.users["arbitrator"], url, "post", data)
    assert outcome(response) == REDIRECT
    assert {"disputes.Dispute", "milestones.Milestone", "ledger.LedgerTransaction"} <= {
        difference.split(":")[0] for difference in changed
    }, changed


def allauth_urls() -> list[tuple[str, str]]:
    urls = []
    for route in routes():
        if not is_allauth(route):
            continue
        kwargs = {group: "1" if group == "uidb36" else "not-a-key" for group in _parameters(route)}
        urls.append((route.name, reverse(route.name, kwargs=kwargs)))
    return urls


def test_every_allauth_route_is_known():
    # A new allauth page is reviewed here: either it is about one's own account, or it is public.
    public = {
        "account_login",
        "account_logout",
        "account_inactive",
        "account_signup",
        "account_request_reauthentication_code",
        "account_confirm_reauthentication_code",
        "account_email_verification_sent",
        "account_reset_password",
        "account_confirm_login_code",
        "account_confirm_email",
        "account_reset_password_from_key_done",
        "account_reset_password_from_key",
        "account_reset_password_done",
        "mfa_authenticate",
    }
    assert {name for name, _ in allauth_urls()} == public | ALLAUTH_OWN_ACCOUNT


@pytest.mark.parametrize("actor", ["anonymous", "client"])
def test_allauth_pages_answer_and_an_empty_post_changes_nothing(world, actor):
    wrong = []
    for name, url in allauth_urls():
        for method in ("get", "post"):
            response, changed = request_as(world.users[actor], url, method)
            got = outcome(response)
            if response.status_code >= 500 or changed:
                wrong.append(f"{method.upper()} {url} as {actor}: got {got}, changed {changed}")
            if actor == "anonymous" and name in ALLAUTH_OWN_ACCOUNT and got != LOGIN:
                wrong.append(f"{method.upper()} {url} as {actor}: got {got}, expected to be sent to log in")
    assert not wrong, "\n".join(wrong)
