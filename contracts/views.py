"""Views of the contracts app: thin; every one finds the contract among those the viewer may see."""

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_POST

from contracts import selectors, services
from contracts.errors import ContractError
from contracts.forms import ChangeRequestForm, DecisionNoteForm, MessageForm
from contracts.models import ChangeRequest, Contract
from core.money import CURRENCY_EXPONENTS, format_money
from marketplace.errors import MarketplaceError
from marketplace.models import Proposal
from marketplace.selectors import proposal_get_for_viewer
from milestones.errors import MilestoneError
from milestones.forms import FundManyForm
from milestones.models import Milestone
from milestones.services import milestone_fund_many
from payments.errors import PaymentError
from payments.selectors import client_balance
from reputation.errors import FeedbackError
from reputation.forms import FeedbackForm
from reputation.selectors import contract_feedback as contract_feedback_for
from reputation.services import feedback_submit
from users.http import AuthenticatedRequest


def _posted(request: HttpRequest) -> Any:
    """The form data of a POST (even an empty one, so the form is bound and says what's missing)."""
    return request.POST if request.method == "POST" else None


def _contract_or_404(request: AuthenticatedRequest, contract_id: int) -> Contract:
    """Outsiders get the same 404 as for a contract that doesn't exist."""
    try:
        return selectors.contracts_visible_to(user=request.user).get(pk=contract_id)
    except Contract.DoesNotExist as exc:
        raise Http404 from exc


def _back(contract: Contract, anchor: str = "") -> HttpResponse:
    response = redirect("contracts:detail", contract_id=contract.pk)
    response["Location"] += f"#{anchor}" if anchor else ""
    return response


def _render_contract(
    request: AuthenticatedRequest, contract: Contract, *, feedback_form: FeedbackForm | None = None
) -> HttpResponse:
    page = selectors.contract_page(
        contract=contract, viewer=request.user, milestone_page_number=request.GET.get("page")
    )
    if feedback_form is None and page.feedback is not None and page.feedback.can_leave:
        feedback_form = FeedbackForm(criteria=page.feedback.criteria)
    context = {
        "page": page,
        "message_form": MessageForm(),
        "decision_form": DecisionNoteForm(),
        "feedback_form": feedback_form,
    }
    return render(request, "contracts/contract_detail.html", context, status=400 if request.method == "POST" else 200)


@require_GET
@login_required
def contract_detail(request: AuthenticatedRequest, contract_id: int) -> HttpResponse:
    return _render_contract(request, _contract_or_404(request, contract_id))


@require_POST
@login_required
def contract_feedback(request: AuthenticatedRequest, contract_id: int) -> HttpResponse:
    """A party leaves their feedback about the other; it is final once sent."""
    contract = _contract_or_404(request, contract_id)
    page_feedback = contract_feedback_for(contract=contract, viewer=request.user)
    if page_feedback is None:
        messages.error(request, "Only the contract's parties can leave feedback, once the contract has ended.")
        return _back(contract)
    form = FeedbackForm(request.POST, criteria=page_feedback.criteria)
    if not form.is_valid():
        return _render_contract(request, contract, feedback_form=form)
    try:
        feedback_submit(
            contract=contract,
            author=request.user,
            ratings=form.ratings(),
            comment=form.cleaned_data["comment"],
            would_work_again=form.would_work_again_answer(),
        )
    except FeedbackError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Thank you: your feedback is in. It is published with theirs, never before.")
    return _back(contract, "feedback")


@login_required
def contract_messages(request: AuthenticatedRequest, contract_id: int) -> HttpResponse:
    """GET: the thread alone; POST: a new message. htmx gets the thread back in place, others a redirect."""
    contract = _contract_or_404(request, contract_id)
    in_place = bool(request.headers.get("HX-Request"))
    form = MessageForm(_posted(request))
    if request.method == "POST":
        if form.is_valid():
            try:
                services.contract_message_post(
                    contract=contract,
                    author=request.user,
                    body=form.cleaned_data["body"],
                    form_token=form.cleaned_data["form_token"],
                )
            except ContractError as exc:
                form.add_error(None, str(exc))
            else:
                form = MessageForm()
        if not in_place:
            for error in form.errors.get("__all__", []) + form.errors.get("body", []):
                messages.error(request, str(error))
            return _back(contract, "messages")
    context: dict[str, Any] = {
        "contract": contract,
        "message_form": form,
        "viewer_is_party": contract.is_party(request.user),
    }
    if in_place:
        # The thread as the contract page shows it: the latest messages, with a link to the rest.
        context["thread"] = selectors.contract_messages(contract=contract)
        return render(request, "contracts/partials/messages.html", context)
    context["page"] = selectors.contract_messages_page(contract=contract, page_number=request.GET.get("page"))
    return render(request, "contracts/messages.html", context)


@require_GET
@login_required
def contract_activity(request: AuthenticatedRequest, contract_id: int) -> HttpResponse:
    """Every event on the contract and its milestones, a page at a time, latest first."""
    contract = _contract_or_404(request, contract_id)
    page, entries = selectors.contract_activity_page(contract=contract, page_number=request.GET.get("page"))
    return render(request, "contracts/activity.html", {"contract": contract, "page": page, "entries": entries})


def _role_or_404(request: AuthenticatedRequest, role: str) -> str:
    if (role == "client" and request.user.is_client) or (role == "freelancer" and request.user.is_freelancer):
        return role
    raise Http404


@require_GET
@login_required
def contract_list(request: AuthenticatedRequest, role: str) -> HttpResponse:
    """All the user's contracts in one role, a page at a time (the dashboard shows the latest few)."""
    role = _role_or_404(request, role)
    contracts = selectors.contracts_of(user=request.user, role=role)
    page = Paginator(contracts, selectors.LIST_PER_PAGE).get_page(request.GET.get("page"))
    other = "freelancer" if role == "client" else "client"
    return render(request, "contracts/contract_list.html", {"page": page, "role": role, "other": other})


@require_GET
@login_required
def milestone_list(request: AuthenticatedRequest, role: str, step: str) -> HttpResponse:
    """All the milestones of one dashboard list (to fund, to review, ...), a page at a time."""
    role = _role_or_404(request, role)
    try:
        heading = selectors.MILESTONE_LISTS[(role, step)]
    except KeyError as exc:
        raise Http404 from exc
    milestones = selectors.dashboard_milestones(user=request.user, role=role, step=step)
    page = Paginator(milestones, selectors.LIST_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "contracts/milestone_list.html", {"page": page, "heading": heading})


def _propose_change(request: AuthenticatedRequest, contract: Contract, milestone: Milestone | None) -> HttpResponse:
    form = ChangeRequestForm(_posted(request), currency=contract.currency, milestone=milestone)
    if request.method == "POST" and form.is_valid():
        try:
            services.change_request_propose(
                contract=contract,
                proposed_by=request.user,
                milestone=milestone,
                terms=form.terms(),
                note=form.cleaned_data["note"],
                form_token=form.cleaned_data["form_token"],
            )
        except ContractError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Your change was sent; it takes effect when the other party accepts it.")
            return _back(contract, "changes")
    context = {"contract": contract, "milestone": milestone, "form": form}
    return render(request, "contracts/change_form.html", context)


@login_required
def change_new_milestone(request: AuthenticatedRequest, contract_id: int) -> HttpResponse:
    return _propose_change(request, _contract_or_404(request, contract_id), None)


@login_required
def change_milestone(request: AuthenticatedRequest, contract_id: int, milestone_id: int) -> HttpResponse:
    contract = _contract_or_404(request, contract_id)
    try:
        milestone = selectors.contract_milestone(contract=contract, milestone_id=milestone_id)
    except Milestone.DoesNotExist as exc:
        raise Http404 from exc
    return _propose_change(request, contract, milestone)


def _change_or_404(contract: Contract, change_id: int) -> ChangeRequest:
    try:
        return selectors.change_request_visible(contract=contract, change_request_id=change_id)
    except ChangeRequest.DoesNotExist as exc:
        raise Http404 from exc


@require_POST
@login_required
def change_accept(request: AuthenticatedRequest, contract_id: int, change_id: int) -> HttpResponse:
    contract = _contract_or_404(request, contract_id)
    change = _change_or_404(contract, change_id)
    try:
        services.change_request_accept(change_request=change, actor=request.user)
    except (ContractError, MilestoneError) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "The change was accepted and applied.")
    return _back(contract, "changes")


@require_POST
@login_required
def change_decline(request: AuthenticatedRequest, contract_id: int, change_id: int) -> HttpResponse:
    contract = _contract_or_404(request, contract_id)
    change = _change_or_404(contract, change_id)
    form = DecisionNoteForm(request.POST)
    if not form.is_valid():
        # Declining without the note the user wrote would silently lose it: refuse and say why.
        for error in form.errors.get("note", []):
            messages.error(request, f"{error} Nothing was declined.")
        return _back(contract, "changes")
    try:
        services.change_request_decline(change_request=change, actor=request.user, note=form.cleaned_data["note"])
    except ContractError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "The change was declined; nothing changed.")
    return _back(contract, "changes")


@require_POST
@login_required
def change_withdraw(request: AuthenticatedRequest, contract_id: int, change_id: int) -> HttpResponse:
    contract = _contract_or_404(request, contract_id)
    change = _change_or_404(contract, change_id)
    try:
        services.change_request_withdraw(change_request=change, actor=request.user)
    except ContractError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Your change was withdrawn; nothing changed.")
    return _back(contract, "changes")


@login_required
def contract_end(request: AuthenticatedRequest, contract_id: int) -> HttpResponse:
    """GET: what ending means, and a confirm button; POST: end it."""
    contract = _contract_or_404(request, contract_id)
    form = DecisionNoteForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.contract_end(contract=contract, actor=request.user, note=form.cleaned_data["note"])
        except (ContractError, MilestoneError) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "The contract has ended.")
        return _back(contract)
    page = selectors.contract_page(contract=contract, viewer=request.user)
    return render(request, "contracts/contract_end.html", {"page": page, "contract": contract, "form": form})


def dashboard(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "marketplace/landing.html")
    user = request.user
    context = {
        "client_board": selectors.dashboard_client(user=user) if user.is_client else None,
        "freelancer_board": selectors.dashboard_freelancer(user=user) if user.is_freelancer else None,
    }
    return render(request, "contracts/dashboard.html", context)


def _seen_version(request: HttpRequest) -> datetime | None:
    """The proposal's `updated_at` as the page showed it (hidden field `seen`); None if missing or garbled."""
    try:
        return parse_datetime(request.POST.get("seen", ""))
    except ValueError:
        return None


@require_POST
@login_required
def proposal_accept(request: AuthenticatedRequest, proposal_id: int) -> HttpResponse:
    try:
        proposal = proposal_get_for_viewer(proposal_id=proposal_id, user=request.user)
    except Proposal.DoesNotExist as exc:
        raise Http404 from exc
    seen = _seen_version(request)
    if seen is None:
        messages.error(
            request, "That page was out of date, so nothing was accepted. Check the terms below and accept again."
        )
        return redirect("marketplace:proposal_detail", proposal_id=proposal.pk)
    try:
        contract = services.proposal_accept(proposal=proposal, actor=request.user, seen_updated_at=seen)
    except MarketplaceError as exc:
        messages.error(request, str(exc))
        return redirect("marketplace:proposal_detail", proposal_id=proposal.pk)
    messages.success(request, "The contract has started: its milestones are approved and ready to fund.")
    return redirect("contracts:detail", contract_id=contract.pk)


@login_required
def contract_fund_milestones(request: AuthenticatedRequest, contract_id: int) -> HttpResponse:
    """Fund several approved milestones of one contract at once: all of them, or none."""
    try:
        contract, fundable = selectors.contract_fundable_milestones(user=request.user, contract_id=contract_id)
    except Contract.DoesNotExist as error:
        raise Http404 from error
    form = FundManyForm(request.POST or None, fundable=fundable)
    if request.method == "POST":
        if form.is_valid():
            chosen = list(form.cleaned_data["milestones"])
            try:
                milestone_fund_many(
                    milestones=chosen,
                    actor=request.user,
                    card_number=form.cleaned_data["card_number"] or None,
                    idempotency_key=form.idempotency_key,
                )
            except (MilestoneError, PaymentError) as error:
                messages.error(request, str(error))
            else:
                total = sum(m.amount for m in chosen)
                plural = "s" if len(chosen) != 1 else ""
                messages.success(
                    request,
                    f"{len(chosen)} milestone{plural} funded: "
                    f"{format_money(total, contract.currency)} is held in escrow.",
                )
                # Done: back to the contract, never to a page one click from funding the rest.
                return redirect("contracts:detail", contract_id=contract.pk)
            # Refused: back to a fresh page (and a fresh token) with nothing ticked.
            return redirect("contracts:fund_milestones", contract_id=contract.pk)
        messages.error(request, "Please correct the form below; nothing was changed.")
    # A bound form re-shows what the user ticked; a fresh page ticks nothing.
    selected_ids = {int(v) for v in request.POST.getlist("milestones") if v.isdigit()} if form.is_bound else set()
    return render(
        request,
        "contracts/fund_milestones.html",
        {
            "contract": contract,
            "fundable": fundable,
            "form": form,
            "selected_ids": selected_ids,
            "minor_per_unit": 10 ** CURRENCY_EXPONENTS.get(contract.currency, 2),
            "selected_total": sum(m.amount for m in fundable if m.pk in selected_ids),
            "balance": client_balance(user=request.user, currency=contract.currency),
        },
        status=400 if form.is_bound else 200,
    )
