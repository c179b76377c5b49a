"""Dispute and offer pages and actions: thin views that parse a form, call one service and redirect.

The dispute page is for the two parties only (everyone else gets a 404; staff use the admin desk).
Evidence files and the packet are for the parties and staff. A refused action becomes a message.
"""

import logging
import tempfile
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_fsm import has_transition_perm

from core.downloads import private_attachment
from disputes import forms, selectors, services
from disputes.models import Dispute, Offer
from disputes.packet import dispute_packet_write
from milestones.errors import MilestoneError
from milestones.models import Milestone
from milestones.selectors import milestones_visible_to
from milestones.uploads import DeliverableSizeLimitHandler, oversized_uploads, request_too_large
from payments.errors import PaymentError
from users.http import AuthenticatedRequest

logger = logging.getLogger(__name__)
REFUSED = (MilestoneError, PaymentError)


def _party_case(request: AuthenticatedRequest, pk: int) -> Dispute:
    return get_object_or_404(selectors.disputes_of_parties(user=request.user), pk=pk)


def _party_milestone(request: AuthenticatedRequest, milestone_id: int) -> Milestone:
    milestone = get_object_or_404(milestones_visible_to(user=request.user), pk=milestone_id)
    if not milestone.contract.is_party(request.user):
        raise Http404
    return milestone


def _upload_refused(request: AuthenticatedRequest) -> str:
    """Why the files of this request were dropped while streaming in, or ""."""
    request.FILES  # noqa: B018 - parse the body now, so the size guard has seen every file
    if request_too_large(request):
        limit = filesizeformat(settings.DELIVERABLE_MAX_REQUEST_BYTES)
        return f"These files together are larger than the {limit} limit; nothing was added."
    if dropped := oversized_uploads(request):
        limit = filesizeformat(settings.DELIVERABLE_MAX_BYTES)
        return f"“{dropped[0]}” is larger than the {limit} limit; nothing was added."
    return ""


def _form_errors(form: Any) -> str:
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


# --- The dispute page ------------------------------------------------------------------------
@login_required
@require_GET
def dispute_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    case = _party_case(request, pk)
    return render(request, "disputes/detail.html", _detail_context(request, case))


def _detail_context(request: AuthenticatedRequest, case: Dispute, **forms_given: Any) -> dict[str, Any]:
    page = selectors.dispute_page(dispute=case, viewer=request.user, page_numbers=request.GET)
    milestone = page.milestone
    return {
        "page": page,
        "dispute": case,
        "milestone": milestone,
        "contract": milestone.contract,
        "statement_form": forms_given.get("statement_form")
        or forms.StatementForm(milestone=milestone, prefix="statement"),
        "offer_form": forms.OfferForm(milestone=milestone, prefix="offer") if page.can_offer else None,
        "answer_forms": {
            "accept": forms.ConfirmForm(milestone=milestone, prefix="accept"),
            "decline": forms.NoteForm(milestone=milestone, prefix="decline"),
            "counter": forms.OfferForm(milestone=milestone, prefix="counter"),
            "withdraw": forms.ConfirmForm(milestone=milestone, prefix="withdraw"),
        },
        "escalate_form": forms.NoteForm(milestone=milestone, prefix="escalate"),
        "withdraw_form": forms.NoteForm(milestone=milestone, prefix="withdraw_dispute"),
    }


@csrf_exempt  # only so the size guard is in place before the body is read; CSRF is checked just below
def dispute_open(request: AuthenticatedRequest, milestone_id: int) -> HttpResponse:
    request.upload_handlers.insert(0, DeliverableSizeLimitHandler(request))
    return _dispute_open(request, milestone_id)


@csrf_protect
@login_required
@require_http_methods(["GET", "POST"])
def _dispute_open(request: AuthenticatedRequest, milestone_id: int) -> HttpResponse:
    milestone = _party_milestone(request, milestone_id)
    if not has_transition_perm(milestone.open_dispute, request.user):
        messages.error(request, "A dispute can be opened only on a funded or submitted milestone that is not disputed.")
        return redirect("milestones:detail", pk=milestone.pk)
    if request.method == "GET":
        form = forms.DisputeOpenForm(milestone=milestone, prefix="dispute")
        return render(request, "disputes/open.html", {"milestone": milestone, "form": form})
    if refused := _upload_refused(request):
        messages.error(request, refused)
        return redirect("disputes:open", milestone_id=milestone.pk)
    form = forms.DisputeOpenForm(request.POST, request.FILES, milestone=milestone, prefix="dispute")
    if not form.is_valid():
        messages.error(request, "Please correct the form below; nothing was changed.")
        return render(request, "disputes/open.html", {"milestone": milestone, "form": form}, status=400)
    try:
        case = services.dispute_open(
            milestone=milestone,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            statement=form.cleaned_data["statement"],
            files=form.cleaned_data["files"],
            idempotency_key=form.idempotency_key,
        )
    except REFUSED as error:
        messages.error(request, str(error))
        return redirect("milestones:detail", pk=milestone.pk)
    messages.success(request, "The dispute is open: auto-release is paused and the other party has been told.")
    return redirect("disputes:detail", pk=case.pk)


@csrf_exempt  # only so the size guard is in place before the body is read; CSRF is checked just below
def statement_add(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    request.upload_handlers.insert(0, DeliverableSizeLimitHandler(request))
    return _statement_add(request, pk)


@csrf_protect
@login_required
@require_POST
def _statement_add(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    case = _party_case(request, pk)
    if refused := _upload_refused(request):
        messages.error(request, refused)
        return redirect("disputes:detail", pk=case.pk)
    form = forms.StatementForm(request.POST, request.FILES, milestone=case.milestone, prefix="statement")
    if not form.is_valid():
        messages.error(request, "Please correct the statement below; nothing was added.")
        return render(request, "disputes/detail.html", _detail_context(request, case, statement_form=form), status=400)
    try:
        services.dispute_statement_add(
            dispute=case,
            actor=request.user,
            text=form.cleaned_data["text"],
            files=form.cleaned_data["files"],
            idempotency_key=form.idempotency_key,
        )
    except REFUSED as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Your statement was added; the other party has been told.")
    return redirect("disputes:detail", pk=case.pk)


@login_required
@require_POST
def dispute_escalate(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    case = _party_case(request, pk)
    form = forms.NoteForm(request.POST, milestone=case.milestone, prefix="escalate")
    if not form.is_valid():
        messages.error(request, "This form has expired; reload the page and try again.")
        return redirect("disputes:detail", pk=case.pk)
    try:
        services.dispute_escalate(
            dispute=case, actor=request.user, note=form.cleaned_data["note"], idempotency_key=form.idempotency_key
        )
    except REFUSED as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "The case is with an arbitrator now. You can still settle it with an offer.")
    return redirect("disputes:detail", pk=case.pk)


@login_required
@require_POST
def dispute_withdraw(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    case = _party_case(request, pk)
    form = forms.NoteForm(request.POST, milestone=case.milestone, prefix="withdraw_dispute")
    if not form.is_valid():
        messages.error(request, "This form has expired; reload the page and try again.")
        return redirect("disputes:detail", pk=case.pk)
    try:
        services.dispute_withdraw(
            dispute=case, actor=request.user, note=form.cleaned_data["note"], idempotency_key=form.idempotency_key
        )
    except REFUSED as error:
        messages.error(request, str(error))
        return redirect("disputes:detail", pk=case.pk)
    messages.success(request, "You withdrew the dispute; the milestone is back where it was.")
    return redirect("milestones:detail", pk=case.milestone_id)


# --- Files and the packet ---------------------------------------------------------------------
@login_required
@require_GET
def evidence_download(request: AuthenticatedRequest, pk: int, file_id: int) -> FileResponse:
    """Parties and staff only; everyone else, and any mismatched id, gets a 404. Always an attachment."""
    try:
        evidence = selectors.evidence_for_download(user=request.user, dispute_id=pk, file_id=file_id)
    except ObjectDoesNotExist as error:
        raise Http404 from error
    try:
        stream = evidence.file.open("rb")
    except FileNotFoundError as error:
        logger.error("Evidence %s is recorded but missing from storage (%s)", evidence.pk, evidence.file.name)
        raise Http404 from error
    return private_attachment(stream, filename=evidence.original_name, fallback="evidence")


@login_required
@require_GET
def dispute_packet(request: AuthenticatedRequest, pk: int) -> FileResponse:
    """The whole case as one ZIP with a manifest of SHA-256 hashes: for the parties and staff."""
    case = get_object_or_404(selectors.disputes_for_records(user=request.user), pk=pk)
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it once sent
    try:
        dispute_packet_write(dispute=case, target=spool)
    except FileNotFoundError as error:
        spool.close()
        logger.error("A file of dispute %s is recorded but missing from storage", case.pk)
        raise Http404 from error
    spool.seek(0)
    return private_attachment(spool, filename=f"dispute-{case.pk}-packet.zip", content_type="application/zip")


# --- Offers -----------------------------------------------------------------------------------
def _after_offer(offer: Offer) -> HttpResponse:
    if offer.dispute_id is not None:
        return redirect("disputes:detail", pk=offer.dispute_id)
    return redirect("milestones:detail", pk=offer.milestone_id)


@login_required
@require_http_methods(["GET", "POST"])
def offer_make(request: AuthenticatedRequest, milestone_id: int) -> HttpResponse:
    milestone = _party_milestone(request, milestone_id)
    if request.method == "GET":
        form = forms.OfferForm(milestone=milestone, prefix="offer")
        return render(request, "disputes/offer_form.html", {"milestone": milestone, "form": form})
    form = forms.OfferForm(request.POST, milestone=milestone, prefix="offer")
    if not form.is_valid():
        messages.error(request, "Please correct the offer below; nothing was sent.")
        return render(request, "disputes/offer_form.html", {"milestone": milestone, "form": form}, status=400)
    try:
        offer = services.offer_make(
            milestone=milestone,
            actor=request.user,
            freelancer_amount=form.cleaned_data["freelancer_amount"],
            message=form.cleaned_data["message"],
            idempotency_key=form.idempotency_key,
        )
    except REFUSED as error:
        messages.error(request, str(error))
        return redirect("milestones:detail", pk=milestone.pk)
    messages.success(request, "Your offer was sent; the other party can accept, decline or counter it.")
    return _after_offer(offer)


OFFER_ANSWERS = ("accept", "decline", "withdraw", "counter")


@login_required
@require_POST
def offer_answer(request: AuthenticatedRequest, offer_id: int, answer: str) -> HttpResponse:
    if answer not in OFFER_ANSWERS:
        raise Http404
    visible = milestones_visible_to(user=request.user)
    offer = get_object_or_404(Offer.objects.select_related("milestone__contract"), pk=offer_id, milestone__in=visible)
    milestone = offer.milestone
    if not milestone.contract.is_party(request.user):
        raise Http404
    form_class = {"decline": forms.NoteForm, "counter": forms.OfferForm}.get(answer, forms.ConfirmForm)
    form = form_class(request.POST, milestone=milestone, prefix=answer)
    if not form.is_valid():
        messages.error(request, f"Nothing was changed: {_form_errors(form) or 'reload the page and try again.'}")
        return _after_offer(offer)
    try:
        if answer == "accept":
            services.offer_accept(offer=offer, actor=request.user, idempotency_key=form.idempotency_key)
            done = "You accepted the offer: the escrow was divided as it said."
        elif answer == "decline":
            services.offer_decline(offer=offer, actor=request.user, note=form.cleaned_data["note"])
            done = "You declined the offer."
        elif answer == "withdraw":
            services.offer_withdraw(offer=offer, actor=request.user)
            done = "You withdrew your offer."
        else:
            services.offer_make(
                milestone=milestone,
                actor=request.user,
                freelancer_amount=form.cleaned_data["freelancer_amount"],
                message=form.cleaned_data["message"],
                idempotency_key=form.idempotency_key,
                counter_to=offer,
            )
            done = "Your counter-offer was sent."
    except REFUSED as error:
        messages.error(request, str(error))
    else:
        messages.success(request, done)
    offer.refresh_from_db()
    return _after_offer(offer)
