"""allauth's account adapter, tuned for Milestone: emails greet with the site's name."""

from dataclasses import dataclass
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.contrib.sites.shortcuts import get_current_site

SITE_NAME = "Milestone"


@dataclass(frozen=True)
class NamedSite:
    """What allauth's email templates read as `current_site`: our name, the request's domain."""

    name: str
    domain: str


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        # Without django.contrib.sites, allauth's `current_site` is the request's host:port, so
        # every email began "Hello from 127.0.0.1:8000!". Name the site instead; keep the domain.
        request = allauth_context.request
        site = NamedSite(name=SITE_NAME, domain=get_current_site(request).domain)
        super().send_mail(template_prefix, email, {"current_site": site, **context})
