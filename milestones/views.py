"""Milestone pages and actions: thin views that parse a form, call one service and redirect.

A refused action (wrong state, wrong person, replayed form, payment problem) becomes a message
on the milestone page; nothing is changed and nobody sees a 500.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from milestones import forms, selectors, services
from milestones.errors import MilestoneError
from milestones.models import Milestone, MilestoneState
from milestones.state_diagram import state_diagram_svg
from milestones.uploads import DeliverableSizeLimitHandler, oversized_uploads
from payments.errors import PaymentError
from payments.selectors import client_balance, milestone_money_totals
from users.models import User

logger = logging.getLogger(__name__)

# --- The actions: which form each takes and which service it calls ------------------------
ServiceCall = Callable[[Milestone, User, forms.ActionForm], Any]


@dataclass(frozen=True)
class Action:
    name: str
    form_class: type[forms.ActionForm]
    call: ServiceCall
    done: str  # the success message
    heading: str = ""
    button: str = ""
    help: str = ""
    secondary: bool = False  # drawn as an outline button: it undoes or stops something


def _note(form: forms.ActionForm) -> str:
    return form.cleaned_data.get("note", "")


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action(
            "approve",
            forms.NoteForm,
            lambda m, u, f: services.milestone_approve(
                milestone=m, actor=u, note=_note(f), idempotency_key=f.idempotency_key
            ),
            "You approved the milestone.",
            heading="Approve this milestone",
            button="Approve",
            help="You agree to its terms; the client can then fund it.",
        ),
        Action(
            "decline",
            forms.NoteForm,
            lambda m, u, f: services.milestone_decline(
                milestone=m, actor=u, note=_note(f), idempotency_key=f.idempotency_key
            ),
            "You declined the milestone.",
            heading="Decline",
            button="Decline",
            help="The milestone is cancelled; add a note if you like.",
            secondary=True,
        ),
        Action(
            "withdraw",
            forms.NoteForm,
            lambda m, u, f: services.milestone_withdraw(
                milestone=m, actor=u, note=_note(f), idempotency_key=f.idempotency_key
            ),
            "You withdrew the milestone.",
            heading="Withdraw your proposal",
            button="Withdraw",
            help="Take the milestone back before it is approved.",
            secondary=True,
        ),
        Action(
            "cancel",
            forms.RequiredNoteForm,
            lambda m, u, f: services.milestone_cancel(
                milestone=m, actor=u, note=_note(f), idempotency_key=f.idempotency_key
            ),
            "The milestone was cancelled.",
            heading="Cancel before funding",
            button="Cancel milestone",
            help="Nothing has been paid yet. Say why; the other party sees your note.",
            secondary=True,
        ),
        Action(
            "fund",
            forms.FundForm,
            lambda m, u, f: services.milestone_fund(
                milestone=m,
                actor=u,
                card_number=f.cleaned_data["card_number"] or None,
                idempotency_key=f.idempotency_key,
            ),
            "The milestone is funded: its money is held in escrow.",
            heading="Fund this milestone",
            button="Fund milestone",
            help="The amount moves into escrow: held for this milestone until it is released or refunded.",
        ),
        Action(
            "submit",
            forms.SubmitForm,
            lambda m, u, f: services.milestone_submit(
                milestone=m,
                actor=u,
                message=f.cleaned_data["message"],
                files=f.cleaned_data["files"],
                idempotency_key=f.idempotency_key,
            ),
            "Your work was submitted; the client's review period has started.",
            heading="Submit your work",
            button="Submit work",
            help="The client then has a review period; if they do nothing, payment is released automatically.",
        ),
        Action(
            "request_changes",
            forms.RequiredNoteForm,
            lambda m, u, f: services.milestone_request_changes(
                milestone=m, actor=u, note=_note(f), idempotency_key=f.idempotency_key
            ),
            "You asked for changes; the review clock has stopped.",
            heading="Request changes",
            button="Request changes",
            help="The review clock stops; a new submission starts a fresh review period.",
            secondary=True,
        ),
        Action(
            "release",
            forms.ReleaseForm,
            lambda m, u, f: services.milestone_release(
                milestone=m, actor=u, bonus=f.cleaned_data["bonus"], note=_note(f), idempotency_key=f.idempotency_key
            ),
            "Payment released to the freelancer.",
            heading="Approve and release payment",
            button="Release payment",
            help="The freelancer is paid the full amount (less the platform fee), plus any bonus from your balance.",
        ),
        Action(
            "refund",
            forms.RefundForm,
            lambda m, u, f: services.milestone_refund(
                milestone=m,
                actor=u,
                amount=f.cleaned_data["refund_amount"],
                note=_note(f),
                idempotency_key=f.idempotency_key,
            ),
            "The refund was made.",
            heading="Refund the client",
            button="Refund",
            help="Give back all of the escrow, or part of it with the rest released to you.",
            secondary=True,
        ),
        Action(
            "open_dispute",
            forms.DisputeForm,
            lambda m, u, f: services.milestone_open_dispute(
                milestone=m, actor=u, reason=f.cleaned_data["reason"], idempotency_key=f.idempotency_key
            ),
            "The dispute is open; the review clock is paused.",
            heading="Open a dispute",
            button="Open dispute",
            help="The review clock pauses and an arbitrator looks at the submissions and the history.",
            secondary=True,
        ),
        Action(
            "withdraw_dispute",
            forms.NoteForm,
            lambda m, u, f: services.milestone_withdraw_dispute(
                milestone=m, actor=u, note=_note(f), idempotency_key=f.idempotency_key
            ),
            "You withdrew the dispute.",
            heading="Withdraw your dispute",
            button="Withdraw dispute",
            help="The milestone goes back to where it was and the review clock resumes.",
        ),
        Action(
            "resolve",
            forms.ResolveForm,
            lambda m, u, f: services.milestone_resolve(
                milestone=m,
                actor=u,
                freelancer_amount=f.cleaned_data["freelancer_amount"],
                note=_note(f),
                idempotency_key=f.idempotency_key,
            ),
            "The dispute is resolved.",
            heading="Resolve the dispute",
            button="Resolve",
            help="Split the escrow between the parties; both see your reasons.",
        ),
    )
}


def _visible_milestone(request: HttpRequest, pk: int) -> Milestone:
    return get_object_or_404(selectors.milestones_visible_to(user=request.user), pk=pk)


@login_required
@require_GET
def milestone_detail(request: HttpRequest, pk: int) -> HttpResponse:
    milestone = _visible_milestone(request, pk)
    return render(request, "milestones/detail.html", _detail_context(request, milestone))


def _detail_context(
    request: HttpRequest, milestone: Milestone, *, failed: forms.ActionForm | None = None
) -> dict[str, Any]:
    user = request.user
    allowed = selectors.milestone_actions_for(milestone=milestone, user=user)
    action_forms = {name: ACTIONS[name].form_class(milestone=milestone, prefix=name) for name in allowed}
    if failed is not None and failed.prefix in action_forms:
        action_forms[failed.prefix] = failed
    totals = milestone_money_totals(milestone_ids=[milestone.pk]).get(milestone.pk)
    context: dict[str, Any] = {
        "milestone": milestone,
        "contract": milestone.contract,
        "actions": [(ACTIONS[name], form) for name, form in action_forms.items()],
        "allowed_actions": allowed,
        "timers": selectors.milestone_timers(milestone=milestone),
        "submissions": selectors.milestone_submissions(milestone=milestone),
        "history": selectors.milestone_history(milestone=milestone),
        "money": totals,
        "diagram": state_diagram_svg(current_state=milestone.state),
        "state_label": MilestoneState(milestone.state).label,
    }
    if "fund" in action_forms:
        balance = client_balance(user=user, currency=milestone.currency)
        context["balance"] = balance
        context["shortfall"] = max(milestone.amount - balance, 0)
    return context


@csrf_exempt  # only so the size guard is in place before the body is read; CSRF is checked just below
def milestone_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    request.upload_handlers.insert(0, DeliverableSizeLimitHandler(request))
    return _milestone_action(request, pk, action)


@csrf_protect
@login_required
@require_POST
def _milestone_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404
    milestone = _visible_milestone(request, pk)
    request.FILES  # noqa: B018 - parse the body now, so the size guard has seen every file
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
        messages.success(request, spec.done)
    return redirect("milestones:detail", pk=milestone.pk)


@login_required
@require_GET
def deliverable_download(request: HttpRequest, pk: int, file_id: int) -> FileResponse:
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
    response = FileResponse(stream, content_type="application/octet-stream")
    ascii_name = deliverable.original_name.encode("ascii", "ignore").decode().replace('"', "").replace("\\", "")
    response["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name or 'deliverable'}\"; filename*=UTF-8''{quote(deliverable.original_name)}"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
