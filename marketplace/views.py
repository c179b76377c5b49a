"""Views of the marketplace app: thin, they parse input, call a service or selector, render."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.money import format_amount_plain
from marketplace import selectors, services
from marketplace.errors import MarketplaceError
from marketplace.forms import DeclineForm, JobForm, JobSearchForm, ProposalForm, proposal_milestone_formset
from marketplace.models import Job, Proposal
from users.http import AuthenticatedRequest

JOBS_PER_PAGE = 20


def _posted(request: HttpRequest) -> Any:
    """The form data of a POST (even an empty one, so the form is bound and says what's missing)."""
    return request.POST if request.method == "POST" else None


# --- Jobs ---------------------------------------------------------------------------


def job_list(request: HttpRequest) -> HttpResponse:
    form = JobSearchForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {
            "text": data["q"],
            "budget_min": data["budget_min"],
            "budget_max": data["budget_max"],
            "category": data["category"],
            "currency": data["currency"],
            "skill": data["skill"],
        }
    page = Paginator(selectors.job_search(**filters), JOBS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "marketplace/job_list.html", {"form": form, "page": page, "query": query.urlencode()})


@login_required
def job_create(request: AuthenticatedRequest) -> HttpResponse:
    form = JobForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = services.job_create(
                client=request.user,
                title=data["title"],
                description=data["description"],
                budget=data["budget"],
                currency=data["currency"],
                category=data["category"],
                deadline=data["deadline"],
                skills=list(data["skills"]),
                form_token=data["form_token"],
            )
        except MarketplaceError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Your job is posted and open for proposals.")
            return redirect("marketplace:job_detail", job_id=job.pk)
    return render(request, "marketplace/job_form.html", {"form": form})


def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    try:
        job = selectors.job_get(job_id=job_id)
    except Job.DoesNotExist as exc:
        raise Http404 from exc
    context = {
        "job": job,
        "is_owner": request.user.is_authenticated and job.client_id == request.user.pk,
        "my_proposal": selectors.proposal_live_of(job=job, user=request.user),
    }
    return render(request, "marketplace/job_detail.html", context)


@require_POST
@login_required
def job_close(request: AuthenticatedRequest, job_id: int) -> HttpResponse:
    job = _own_job_or_404(request, job_id)
    try:
        services.job_close(job=job, actor=request.user)
    except MarketplaceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "The job is closed; the proposals still waiting were declined with a notice.")
    return redirect("marketplace:job_detail", job_id=job.pk)


def _own_job_or_404(request: HttpRequest, job_id: int) -> Job:
    try:
        return selectors.job_owned_by(job_id=job_id, user=request.user)
    except Job.DoesNotExist as exc:
        raise Http404 from exc


@login_required
def job_proposals(request: AuthenticatedRequest, job_id: int) -> HttpResponse:
    """The client compares the job's proposals side by side."""
    job = _own_job_or_404(request, job_id)
    context = {"job": job, "proposals": selectors.job_proposals_compare(job=job), "decline_form": DeclineForm()}
    return render(request, "marketplace/job_proposals.html", context)


# --- Proposals ----------------------------------------------------------------------


def _proposal_or_404(request: HttpRequest, proposal_id: int) -> Proposal:
    try:
        return selectors.proposal_get_for_viewer(proposal_id=proposal_id, user=request.user)
    except Proposal.DoesNotExist as exc:
        raise Http404 from exc


@login_required
def proposal_create(request: AuthenticatedRequest, job_id: int) -> HttpResponse:
    try:
        job = selectors.job_get(job_id=job_id)
    except Job.DoesNotExist as exc:
        raise Http404 from exc
    existing = selectors.proposal_live_of(job=job, user=request.user)
    if existing is not None:
        messages.info(request, "You already have a proposal on this job; you can edit it here.")
        return redirect("marketplace:proposal_detail", proposal_id=existing.pk)
    refusal = ""
    if job.client_id == request.user.pk:
        refusal = "You posted this job, so you can't propose on it."
    elif not job.is_open:
        refusal = "This job is closed to new proposals."
    elif not request.user.is_freelancer:
        refusal = "Your account doesn't act as a freelancer; turn on the freelancer role in your profile."
    if refusal:
        messages.error(request, refusal)
        return redirect("marketplace:job_detail", job_id=job.pk)
    form = ProposalForm(_posted(request))
    rows = proposal_milestone_formset(data=_posted(request), currency=job.currency)
    if request.method == "POST" and form.is_valid() and rows.is_valid():
        try:
            proposal = services.proposal_submit(
                job=job,
                freelancer=request.user,
                cover_letter=form.cleaned_data["cover_letter"],
                milestones=rows.terms(),
            )
        except MarketplaceError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Your proposal was sent to the client.")
            return redirect("marketplace:proposal_detail", proposal_id=proposal.pk)
    return render(request, "marketplace/proposal_form.html", {"job": job, "form": form, "rows": rows})


@login_required
def proposal_detail(request: AuthenticatedRequest, proposal_id: int) -> HttpResponse:
    proposal = _proposal_or_404(request, proposal_id)
    context = {
        "proposal": proposal,
        "job": proposal.job,
        "rows": proposal.milestones.all(),
        "is_freelancer": proposal.freelancer_id == request.user.pk,
        "is_client": proposal.job.client_id == request.user.pk,
        "decline_form": DeclineForm(),
    }
    return render(request, "marketplace/proposal_detail.html", context)


@login_required
def proposal_edit(request: AuthenticatedRequest, proposal_id: int) -> HttpResponse:
    proposal = _proposal_or_404(request, proposal_id)
    if proposal.freelancer_id != request.user.pk:
        raise Http404
    if not proposal.is_waiting:
        messages.error(request, f"This proposal was {proposal.get_status_display().lower()}; it can't change now.")
        return redirect("marketplace:proposal_detail", proposal_id=proposal.pk)
    job = proposal.job
    initial_rows = [
        {
            "title": row.title,
            "deliverables": row.deliverables,
            "amount": format_amount_plain(row.amount, job.currency),
            "due_date": row.due_date,
        }
        for row in proposal.milestones.all()
    ]
    form = ProposalForm(_posted(request), initial={"cover_letter": proposal.cover_letter})
    rows = proposal_milestone_formset(data=_posted(request), initial=initial_rows, currency=job.currency)
    if request.method == "POST" and form.is_valid() and rows.is_valid():
        try:
            services.proposal_update(
                proposal=proposal,
                actor=request.user,
                cover_letter=form.cleaned_data["cover_letter"],
                milestones=rows.terms(),
            )
        except MarketplaceError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Your proposal was updated.")
            return redirect("marketplace:proposal_detail", proposal_id=proposal.pk)
    context = {"job": job, "form": form, "rows": rows, "proposal": proposal}
    return render(request, "marketplace/proposal_form.html", context)


@require_POST
@login_required
def proposal_withdraw(request: AuthenticatedRequest, proposal_id: int) -> HttpResponse:
    proposal = _proposal_or_404(request, proposal_id)
    try:
        services.proposal_withdraw(proposal=proposal, actor=request.user)
    except MarketplaceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Your proposal was withdrawn.")
    return redirect("marketplace:proposal_detail", proposal_id=proposal.pk)


@require_POST
@login_required
def proposal_decline(request: AuthenticatedRequest, proposal_id: int) -> HttpResponse:
    proposal = _proposal_or_404(request, proposal_id)
    form = DeclineForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The message is too long; keep it under 2,000 characters.")
        return redirect("marketplace:job_proposals", job_id=proposal.job_id)
    try:
        services.proposal_decline(proposal=proposal, actor=request.user, message=form.cleaned_data["message"])
    except MarketplaceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"You declined {proposal.freelancer}'s proposal.")
    if proposal.job.client_id == request.user.pk:
        return redirect("marketplace:job_proposals", job_id=proposal.job_id)
    return redirect("marketplace:proposal_detail", proposal_id=proposal.pk)
