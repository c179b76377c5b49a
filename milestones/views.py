"""Milestone pages and actions: thin views that parse a form, call one service and redirect.

A refused action (wrong state, wrong person, replayed form, payment problem) becomes a message
on the milestone page; nothing is changed and nobody sees a 500.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from core.downloads import private_attachment
from milestones import forms, selectors, services
from milestones.errors import MilestoneError
from milestones.models import Milestone, MilestoneAction
from milestones.panels import milestone_panels
from milestones.state_diagram import state_diagram_svg
from milestones.transitions import TRANSITIONS
from milestones.uploads import DeliverableSizeLimitHandler, oversized_uploads, request_too_large
from payments.errors import PaymentError
from payments.selectors import client_balance, milestone_money_totals
from users.http import AuthenticatedRequest
from users.models import User

logger = logging.getLogger(__name__)

# --- The actions: which form each takes and which service it calls ------------------------
# Their texts (heading, button, help, success message) come from milestones.transitions.
ServiceCall = Callable[[Milestone, User, forms.ActionForm], Milestone]


@dataclass(frozen=True)
class Action:
    form_class: type[forms.ActionForm]
    call: ServiceCall


def _note(form: forms.ActionForm) -> str:
    return str(form.cleaned_data.get("note", ""))


A = MilestoneAction
ACTIONS: dict[str, Action] = {
    A.APPROVE: Action(
        forms.NoteForm,
        lambda m, u, f: services.milestone_approve(
            milestone=m, actor=u, note=_note(f), idempotency_key=f.idempotency_key
        ),
    ),
    A.DECLINE: Action(
        forms.NoteForm,
        lambda m, u, f: services.milestone_decline(
            milestone=m, actor=u, note=_note(f), idempotency_key=f.idempotency_key
        ),
    ),
    A.WITHDRAW: Action(
        forms.NoteForm,
        lambda m, u, f: services.milestone_withdraw(
            milestone=m, actor=u, note=_note(f), idempotency_key=f.idempotency_key
        ),
    ),
    A.CANCEL: Action(
        forms.RequiredNoteForm,
        lambda m, u, f: services.milestone_cancel(
            milestone=m, actor=u, note=_note(f), idempotency_key=f.idempotency_key
        ),
    ),
    A.FUND: Action(
        forms.FundForm,
        lambda m, u, f: services.milestone_fund(
            milestone=m,
            actor=u,
            card_number=f.cleaned_data["card_number"] or None,
            idempotency_key=f.idempotency_key,
        ),
    ),
    A.SUBMIT: Action(
        forms.SubmitForm,
        lambda m, u, f: services.milestone_submit(
            milestone=m,
            actor=u,
            message=f.cleaned_data["message"],
            files=f.cleaned_data["files"],
            idempotency_key=f.idempotency_key,
        ),
    ),
    A.REQUEST_CHANGES: Action(
        forms.RequiredNoteForm,
        lambda m, u, f: services.milestone_request_changes(
            milestone=m, actor=u, note=_note(f), idempotency_key=f.idempotency_key
        ),
    ),
    A.RELEASE: Action(
        forms.ReleaseForm,
        lambda m, u, f: services.milestone_release(
            milestone=m,
            actor=u,
            bonus=f.cleaned_data["bonus"],
            note=_note(f),
            card_number=f.cleaned_data["card_number"] or None,
            idempotency_key=f.idempotency_key,
        ),
    ),
    A.REFUND: Action(
        forms.NoteForm,
        lambda m, u, f: services.milestone_refund(
            milestone=m, actor=u, note=_note(f), idempotency_key=f.idempotency_key
        ),
    ),
}


def _fresh_form(name: str, milestone: Milestone) -> forms.ActionForm:
    return ACTIONS[name].form_class(milestone=milestone, prefix=name)


# The milestone page shows the latest revisions (older ones a page away) and the latest events
# (all of them on the contract's activity pages): its cost never grows with the milestone's history.
SUBMISSIONS_PER_PAGE = 3
HISTORY_LATEST = 10


def _visible_milestone(request: AuthenticatedRequest, pk: int) -> Milestone:
    return get_object_or_404(selectors.milestones_visible_to(user=request.user), pk=pk)


@login_required
@require_GET
def milestone_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    milestone = _visible_milestone(request, pk)
    return render(request, "milestones/detail.html", _detail_context(request, milestone))


def _detail_context(
    request: AuthenticatedRequest, milestone: Milestone, *, failed: forms.ActionForm | None = None
) -> dict[str, Any]:
    user = request.user
    allowed = selectors.milestone_actions_for(milestone=milestone, user=user)
    # Each offered action with its form: the refused one keeps what was typed, the others are fresh.
    action_forms = [
        (meta, failed if failed is not None and failed.prefix == meta.name else _fresh_form(meta.name, milestone))
        for meta in allowed
    ]
    totals = milestone_money_totals(milestone_ids=[milestone.pk]).get(milestone.pk)
    context: dict[str, Any] = {
        "milestone": milestone,
        "contract": milestone.contract,
        "actions": action_forms,
        "allowed_actions": [meta.name for meta in allowed],
        "status_note": selectors.milestone_status_note(milestone=milestone, viewer=user),
        "timers": selectors.milestone_timers(milestone=milestone),
        "submissions": Paginator(selectors.milestone_submissions(milestone=milestone), SUBMISSIONS_PER_PAGE).get_page(
            request.GET.get("revisions")
        ),
        "history": selectors.milestone_history_latest(milestone=milestone, limit=HISTORY_LATEST),
        "money": totals,
        "diagram": state_diagram_svg(current_state=milestone.state),
        "state_label": milestone.state_label,
        # Offers and the dispute case, from the disputes app (registered in its AppConfig.ready).
        "panels": milestone_panels(milestone=milestone, viewer=user),
    }
    # The release form shows the balance beside its bonus field too.
    if any(meta.spends_balance or meta.name == MilestoneAction.RELEASE for meta in allowed):
        balance = client_balance(user=user, currency=milestone.currency)
        context["balance"] = balance
        context["shortfall"] = max(milestone.amount - balance, 0)
    return context


@csrf_exempt  # only so the size guard is in place before the body is read; CSRF is checked just below
def milestone_action(request: AuthenticatedRequest, pk: int, action: str) -> HttpResponse:
    request.upload_handlers.insert(0, DeliverableSizeLimitHandler(request))
    return _milestone_action(request, pk, action)


@csrf_protect
@login_required
@require_POST
def _milestone_action(request: AuthenticatedRequest, pk: int, action: str) -> HttpResponse:
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404
    meta = TRANSITIONS[action]
    milestone = _visible_milestone(request, pk)
    request.FILES  # noqa: B018 - parse the body now, so the size guard has seen every file
    if request_too_large(request):
        limit = filesizeformat(settings.DELIVERABLE_MAX_REQUEST_BYTES)
        messages.error(request, f"These files together are larger than the {limit} limit; nothing was submitted.")
        return redirect("milestones:detail", pk=milestone.pk)
    if dropped := oversized_uploads(request):
        limit = filesizeformat(settings.DELIVERABLE_MAX_BYTES)
        messages.error(request, f"“{dropped[0]}” is larger than the {limit} limit; nothing was submitted.")
        return redirect("milestones:detail", pk=milestone.pk)
    form = spec.form_class(request.POST, request.FILES, milestone=milestone, prefix=action)
    if not form.is_valid():
        context = _detail_context(request, milestone, failed=form)
        if action not in context["allowed_actions"]:
            # The state moved on (or this viewer never could): show where it stands instead of a stale form.
            messages.error(request, "That action isn't available on this milestone now; here is where it stands.")
            return redirect("milestones:detail", pk=milestone.pk)
        messages.error(request, "Please correct the form below; nothing was changed.")
        return render(request, "milestones/detail.html", context, status=400)
    try:
        spec.call(milestone, request.user, form)
    except (MilestoneError, PaymentError) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, meta.done)
    return redirect("milestones:detail", pk=milestone.pk)


@login_required
@require_GET
def deliverable_download(request: AuthenticatedRequest, pk: int, file_id: int) -> FileResponse:
    """Parties and staff only; everyone else, and any mismatched id, gets a 404.

    Always an attachment of type application/octet-stream with nosniff, so an HTML page
    named .png can never render in the browser under our origin.
    """
    try:
        deliverable = selectors.deliverable_for_download(user=request.user, milestone_id=pk, file_id=file_id)
    except ObjectDoesNotExist as error:
        raise Http404 from error
    try:
        stream = deliverable.file.open("rb")
    except FileNotFoundError as error:
        logger.error("Deliverable %s is recorded but missing from storage (%s)", deliverable.pk, deliverable.file.name)
        raise Http404 from error
    return private_attachment(stream, filename=deliverable.original_name, fallback="deliverable")
