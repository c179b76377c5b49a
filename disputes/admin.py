"""The arbitration desk in Django admin: the queue, the read-only case, and the decisions.

Every staff member may look; only staff holding `disputes.arbitrate` decide, and never on a contract
they are a party to (the milestone's `resolve` transition declares both). Each decision (release,
refund, split) asks for the written decision on an intermediate page and calls one service; above
the four-eyes threshold it waits for a second, different arbitrator's approval. Nothing here edits
a row: a decided case is closed, so running a decision again changes nothing.
"""

from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from core.humanize import duration_for_people
from core.money import AmountError, format_amount_plain, format_money, parse_amount
from disputes import services
from disputes.forms import DecisionForm
from disputes.models import Dispute, Offer
from disputes.selectors import dispute_statements, dispute_timeline, milestone_offers
from milestones.errors import MilestoneError
from milestones.models import ARBITRATE_PERMISSION
from milestones.selectors import milestone_history, milestone_submissions
from payments.errors import PaymentError
from users.models import User

DECISIONS = {
    "release": ("Release to the freelancer", "The whole escrow goes to the freelancer (less the platform fee)."),
    "refund": ("Refund to the client", "The whole escrow goes back to the client."),
    "split": (
        "Split…",
        "The freelancer receives the amount you enter (less the fee); the rest goes back to the client.",
    ),
}


def _staff(request: HttpRequest) -> User:
    """The signed-in staff member (admin views are behind the admin site's login)."""
    assert isinstance(request.user, User)
    return request.user


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"
    BANDS = {
        "1": ("Under a day", 0, 1),
        "5": ("1 to 5 days", 1, 5),
        "14": ("5 to 14 days", 5, 14),
        "old": ("Over 14 days", 14, None),
    }

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, label) for key, (label, _, _) in self.BANDS.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        band = self.BANDS.get(self.value() or "")
        if band is None:
            return queryset
        _, younger_days, older_days = band
        now = timezone.now()
        queryset = queryset.filter(opened_at__lte=now - timedelta(days=younger_days))
        return queryset if older_days is None else queryset.filter(opened_at__gt=now - timedelta(days=older_days))


class AmountFilter(admin.SimpleListFilter):
    title = "amount at stake (in the milestone's currency)"
    parameter_name = "amount"
    # Upper bounds in minor units; the last band is everything above the four-eyes default.
    BANDS = {
        "100": ("Up to 100", 0, 10_000),
        "1000": ("100 to 1,000", 10_000, 100_000),
        "5000": ("1,000 to 5,000", 100_000, 500_000),
        "more": ("Over 5,000", 500_000, None),
    }

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, label) for key, (label, _, _) in self.BANDS.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        band = self.BANDS.get(self.value() or "")
        if band is None:
            return queryset
        _, above, up_to = band
        queryset = queryset.filter(milestone__amount__gt=above)
        return queryset if up_to is None else queryset.filter(milestone__amount__lte=up_to)


class AwaitingApprovalFilter(admin.SimpleListFilter):
    title = "second approval"
    parameter_name = "approval"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("waiting", "Waiting for a second arbitrator")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "waiting":
            return queryset.filter(closed_at__isnull=True, decided_at__isnull=False)
        return queryset


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    list_display = ["__str__", "amount_display", "status", "reason", "no_response", "age", "waiting_for_approval"]
    list_filter = ["status", AgeFilter, AmountFilter, "reason", "no_response", AwaitingApprovalFilter]
    search_fields = [
        "=id",
        "milestone__title",
        "=milestone__id",
        "milestone__contract__title",
        "=milestone__contract__id",
        "milestone__contract__client__email",
        "milestone__contract__client__display_name",
        "milestone__contract__freelancer__email",
        "milestone__contract__freelancer__display_name",
    ]
    search_help_text = "Search by party (email or name), contract or milestone (title or number), or case number."
    list_select_related = ["milestone__contract__client", "milestone__contract__freelancer"]
    ordering = ["-opened_at"]
    fields = readonly_fields = (
        "milestone",
        "contract",
        "amount_display",
        "status",
        "reason",
        "opened_by",
        "opened_at",
        "from_state",
        "review_time_remaining_display",
        "respond_by",
        "no_response",
        "escalated_at",
        "outcome",
        "freelancer_amount_display",
        "arbitrator",
        "second_approver",
        "decided_at",
        "decision",
        "closed_at",
    )
    change_form_template = "admin/disputes/dispute/change_form.html"
    actions = ["release_to_freelancer", "refund_to_client", "split_escrow", "approve_decision"]

    # --- Columns -------------------------------------------------------------------------------
    @admin.display(description="Contract")
    def contract(self, obj: Dispute) -> str:
        return str(obj.milestone.contract)

    @admin.display(description="Amount at stake", ordering="milestone__amount")
    def amount_display(self, obj: Dispute) -> str:
        return format_money(obj.milestone.amount, obj.milestone.currency)

    @admin.display(description="To the freelancer")
    def freelancer_amount_display(self, obj: Dispute) -> str:
        return "—" if obj.freelancer_amount is None else format_money(obj.freelancer_amount, obj.milestone.currency)

    @admin.display(description="Review time remaining")
    def review_time_remaining_display(self, obj: Dispute) -> str:
        return duration_for_people(obj.review_time_remaining)

    @admin.display(description="Age", ordering="opened_at")
    def age(self, obj: Dispute) -> str:
        return duration_for_people((obj.closed_at or timezone.now()) - obj.opened_at)

    @admin.display(description="Waiting for approval", boolean=True)
    def waiting_for_approval(self, obj: Dispute) -> bool:
        return obj.awaits_second_approval

    # --- Everyone on staff looks; nobody edits ----------------------------------------------------
    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_arbitrate_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff and request.user.has_perm(ARBITRATE_PERMISSION))

    # --- The case page: everything the parties see, read-only --------------------------------------
    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        case = get_object_or_404(Dispute.objects.select_related("milestone__contract"), pk=object_id)
        milestone = case.milestone
        context = {
            **(extra_context or {}),
            "case": case,
            "milestone": milestone,
            "statements": list(dispute_statements(dispute=case)),
            "timeline": list(dispute_timeline(dispute=case)),
            "offers": list(milestone_offers(milestone=milestone)),
            "submissions": milestone_submissions(milestone=milestone),
            "history": milestone_history(milestone=milestone),
            "can_arbitrate": self.has_arbitrate_permission(request),
            "decisions": DECISIONS,
        }
        return super().change_view(request, object_id, form_url, extra_context=context)

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/decide/<str:kind>/", wrap(self.decide_view), name="disputes_dispute_decide"),
            path("<int:pk>/approve/", wrap(self.approve_view), name="disputes_dispute_approve"),
            *super().get_urls(),
        ]

    def _case_url(self, case: Dispute) -> str:
        return reverse("admin:disputes_dispute_change", args=[case.pk])

    def decide_view(self, request: HttpRequest, pk: int, kind: str) -> HttpResponse:
        """The intermediate page: the decision text (and for a split, the freelancer's amount), then the service."""
        if kind not in DECISIONS:
            raise PermissionDenied
        if not self.has_arbitrate_permission(request):
            raise PermissionDenied
        case = get_object_or_404(Dispute.objects.select_related("milestone__contract"), pk=pk)
        milestone = case.milestone
        form = DecisionForm(request.POST or None)
        if kind != "split":
            del form.fields["freelancer_amount"]
        else:
            form.fields["freelancer_amount"].required = True
            form.fields["freelancer_amount"].help_text = (
                f"From 0 to {format_amount_plain(milestone.amount, milestone.currency)} {milestone.currency}; "
                "the rest goes back to the client."
            )
        if request.method == "POST" and form.is_valid():
            amount = self._decided_amount(kind=kind, form=form, case=case)
            if amount is not None:
                return self._decide(request, case=case, amount=amount, decision=form.cleaned_data["decision"])
        title, help_text = DECISIONS[kind]
        context = {
            **self.admin_site.each_context(request),
            "title": f"{title.rstrip('…')}: dispute #{case.pk}",
            "case": case,
            "milestone": milestone,
            "form": form,
            "help_text": help_text,
            "needs_second_approval": services.dispute_needs_second_approval(dispute=case),
            "opts": self.model._meta,
            "case_url": self._case_url(case),
        }
        return TemplateResponse(request, "admin/disputes/dispute/decide.html", context)

    def _decided_amount(self, *, kind: str, form: DecisionForm, case: Dispute) -> int | None:
        milestone = case.milestone
        if kind == "release":
            return milestone.amount
        if kind == "refund":
            return 0
        text = form.cleaned_data["freelancer_amount"].strip()
        if text in {"0", "0.0", "0.00"}:
            return 0
        try:
            return parse_amount(text, currency=milestone.currency, maximum=milestone.amount)
        except AmountError as error:
            form.add_error("freelancer_amount", str(error))
            return None

    def _decide(self, request: HttpRequest, *, case: Dispute, amount: int, decision: str) -> HttpResponse:
        try:
            decided = services.dispute_decide(
                dispute=case, arbitrator=_staff(request), freelancer_amount=amount, decision=decision
            )
        except (MilestoneError, PaymentError) as error:
            self.message_user(request, f"Nothing was changed: {error}", messages.ERROR)
        else:
            if decided.awaits_second_approval:
                self.message_user(
                    request,
                    "Decision recorded. It is above the four-eyes threshold, so no money moves until a second "
                    "arbitrator approves it.",
                    messages.WARNING,
                )
            else:
                self.message_user(
                    request, "Decided: the escrow was divided and both parties were told.", messages.SUCCESS
                )
        return HttpResponseRedirect(self._case_url(case))

    def approve_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_arbitrate_permission(request):
            raise PermissionDenied
        case = get_object_or_404(Dispute.objects.select_related("milestone__contract", "arbitrator"), pk=pk)
        if request.method == "POST":
            try:
                services.dispute_decision_approve(dispute=case, approver=_staff(request))
            except (MilestoneError, PaymentError) as error:
                self.message_user(request, f"Nothing was changed: {error}", messages.ERROR)
            else:
                self.message_user(
                    request, "Approved: the escrow was divided and both parties were told.", messages.SUCCESS
                )
            return HttpResponseRedirect(self._case_url(case))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Approve the decision on dispute #{case.pk}",
            "case": case,
            "milestone": case.milestone,
            "opts": self.model._meta,
            "case_url": self._case_url(case),
        }
        return TemplateResponse(request, "admin/disputes/dispute/approve.html", context)

    # --- Changelist actions: one case at a time, through the intermediate page ---------------------
    def _one_case(
        self, request: HttpRequest, queryset: QuerySet[Dispute], url_name: str, *args: str
    ) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(
                request, "Choose exactly one case: each decision is written for its own case.", messages.ERROR
            )
            return None
        case = queryset.get()
        return HttpResponseRedirect(reverse(f"admin:{url_name}", args=[case.pk, *args]))

    @admin.action(description="Release to the freelancer…", permissions=["arbitrate"])
    def release_to_freelancer(self, request: HttpRequest, queryset: QuerySet[Dispute]) -> HttpResponse | None:
        return self._one_case(request, queryset, "disputes_dispute_decide", "release")

    @admin.action(description="Refund to the client…", permissions=["arbitrate"])
    def refund_to_client(self, request: HttpRequest, queryset: QuerySet[Dispute]) -> HttpResponse | None:
        return self._one_case(request, queryset, "disputes_dispute_decide", "refund")

    @admin.action(description="Split…", permissions=["arbitrate"])
    def split_escrow(self, request: HttpRequest, queryset: QuerySet[Dispute]) -> HttpResponse | None:
        return self._one_case(request, queryset, "disputes_dispute_decide", "split")

    @admin.action(description="Approve the waiting decision (second arbitrator)…", permissions=["arbitrate"])
    def approve_decision(self, request: HttpRequest, queryset: QuerySet[Dispute]) -> HttpResponse | None:
        return self._one_case(request, queryset, "disputes_dispute_approve")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Offer)
class OfferAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "made_by", "amount_display", "status", "created_at", "expires_at"]
    list_filter = ["status"]
    search_fields = ["=id", "milestone__title", "milestone__contract__title", "made_by__email"]
    list_select_related = ["milestone", "made_by"]

    @admin.display(description="To the freelancer")
    def amount_display(self, obj: Offer) -> str:
        return format_money(obj.freelancer_amount, obj.milestone.currency)
