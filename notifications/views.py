"""Notification pages: thin views over the selectors and services; each user reaches only their own notices."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from notifications import selectors, services
from notifications.errors import NotificationError
from notifications.forms import NotificationPreferencesForm
from notifications.models import Notification
from users.http import AuthenticatedRequest

PAGE_SIZE = 20


def _own_notification(request: AuthenticatedRequest, notification_id: int) -> Notification:
    return get_object_or_404(selectors.notifications_for_user(user=request.user), pk=notification_id)


def _back_to_list(request: HttpRequest) -> HttpResponse:
    """Back to the page of the list the button was on (a positive page number only)."""
    page = request.POST.get("page", "")
    url = reverse("notifications:list")
    return redirect(f"{url}?page={page}" if page.isdigit() and page != "0" and len(page) < 7 else url)


@login_required
@require_GET
def notification_list(request: AuthenticatedRequest) -> HttpResponse:
    paginator = Paginator(selectors.notifications_for_user(user=request.user), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "notifications/list.html", {"page": page})


@login_required
@require_GET
def notification_open(request: AuthenticatedRequest, notification_id: int) -> HttpResponse:
    """Mark the notice read (once) and go to what it is about: only ever to a page of this site."""
    notification = _own_notification(request, notification_id)
    services.notification_mark_read(notification=notification)
    if selectors.notification_link_is_safe(link=notification.link):
        return redirect(notification.link)
    if notification.link:
        messages.warning(request, "That notice's link leads off this site, so it was not followed.")
    return redirect("notifications:list")


@login_required
@require_POST
def mark_read(request: AuthenticatedRequest, notification_id: int) -> HttpResponse:
    notification = _own_notification(request, notification_id)
    if services.notification_mark_read(notification=notification):
        messages.success(request, f"Marked “{notification.subject}” as read.")
    else:
        messages.info(request, f"“{notification.subject}” was already marked as read; nothing changed.")
    return _back_to_list(request)


@login_required
@require_POST
def mark_all_read(request: AuthenticatedRequest) -> HttpResponse:
    count = services.notifications_mark_all_read(user=request.user)
    if count:
        messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} as read.")
    else:
        messages.info(request, "Everything was already read; nothing changed.")
    return _back_to_list(request)


@require_GET
def unread_count(request: HttpRequest) -> HttpResponse:
    """The header bell, for htmx to refresh; nothing to swap (204) once the session has ended."""
    if not request.user.is_authenticated:
        return HttpResponse(status=204)
    return render(request, "notifications/partials/bell.html")


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: AuthenticatedRequest) -> HttpResponse:
    current = selectors.notification_preferences_for_user(user=request.user)
    form = NotificationPreferencesForm(request.POST if request.method == "POST" else None, preferences=current)
    if request.method == "POST":
        if form.is_valid():
            try:
                changed = services.notification_preferences_update(
                    user=request.user,
                    email_kinds=form.email_kinds(),
                    email_frequency=form.cleaned_data["email_frequency"],
                )
            except NotificationError as error:
                form.add_error(None, str(error))
            else:
                if changed:
                    messages.success(request, "Your email preferences were saved.")
                else:
                    messages.info(request, "Your email preferences were already set this way; nothing changed.")
                return redirect("notifications:preferences")
        return render(request, "notifications/preferences.html", {"form": form}, status=400)
    return render(request, "notifications/preferences.html", {"form": form})
