"""Reads for contracts: who may see one, and everything its page shows, in a fixed number of queries."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from django.contrib.auth.models import AnonymousUser
from django.core.paginator import Page, Paginator
from django.db.models import CharField, Count, F, FilteredRelation, Q, QuerySet, Sum, Value
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import Truncator
from django_fsm import has_transition_perm

from contracts.models import ChangeRequest, Contract, ContractEvent, ContractMessage
from core.links import id_path
from core.money import format_money
from marketplace.models import Job, Proposal
from marketplace.selectors import proposals_with_summary
from milestones.models import (
    ACTIVE_STATES,
    AGREED_STATES,
    ESCROW_STATES,
    Milestone,
    MilestoneAction,
    MilestoneEvent,
    MilestoneState,
)
from milestones.selectors import milestone_is_overdue
from milestones.transitions import PAGE_TRANSITIONS, TRANSITIONS
from payments.selectors import (
    EarningsSummary,
    earnings_currencies,
    earnings_summary,
    milestone_money_sum,
    milestone_money_totals,
)
from reputation.selectors import ContractFeedback, contract_feedback
from users.models import User

# What one page shows at most; the rest is a click away on a paginated list. A page's cost is
# bounded by these, never by the size of the user's history (tests/config/test_page_costs.py).
CONTRACT_MILESTONES_PER_PAGE = 50
TIMELINE_LATEST = 20
TIMELINE_PER_PAGE = 50
MESSAGES_LATEST = 20
CHANGES_LATEST = 5
END_BLOCKERS_SHOWN = 20
DASHBOARD_LATEST = 5
LIST_PER_PAGE = 25

T = TypeVar("T")


class Shortlist(list[T]):
    """The first few rows of a longer list, and how many there are in all."""

    def __init__(self, rows: Iterable[T], *, total: int) -> None:
        super().__init__(rows)
        self.total = total

    @property
    def more(self) -> int:
        return max(0, self.total - len(self))


def shortlist(queryset: QuerySet[Any], *, limit: int, total: int | None = None) -> Shortlist[Any]:
    """The first `limit` rows of the queryset and its count (one query each; `total` if already known)."""
    return Shortlist(queryset[:limit], total=queryset.count() if total is None else total)


def contracts_visible_to(*, user: User | AnonymousUser) -> QuerySet[Contract]:
    """Contracts a user may see: their own as either party; staff see all. Everyone else sees none."""
    contracts = Contract.objects.select_related("client", "freelancer", "job")
    if not getattr(user, "is_authenticated", False):
        return contracts.none()
    if user.is_staff:
        return contracts
    return contracts.filter(Q(client=user) | Q(freelancer=user))


def _local(at: datetime, fmt: str) -> str:
    return date_format(timezone.localtime(at), fmt)


def _day(day: date) -> str:
    return date_format(day, "D j M Y")


@dataclass(frozen=True)
class MilestoneRow:
    milestone: Milestone
    next_action: str | None  # the words shown for the viewer's next step
    next_transition: str | None  # the transition that step fires
    is_overdue: bool
    in_escrow: int
    released: int
    refunded: int
    open_change: ChangeRequest | None
    dispute_id: int | None = None  # the open dispute case, for a link to its page
    # Display strings made here once, so the template runs no filter per row.
    amount_text: str = ""
    due_text: str = ""
    due_iso: str = ""
    deliverables_excerpt: str = ""
    url: str = ""
    change_url: str = ""  # where a party proposes a change to it


@dataclass(frozen=True)
class MoneyTotals:
    agreed: int
    in_escrow: int
    released: int
    refunded: int

    @property
    def released_percent(self) -> int:
        return min(100, self.released * 100 // self.agreed) if self.agreed else 0


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    actor: User
    summary: str
    note: str = ""

    @property
    def at_text(self) -> str:
        return _local(self.at, "j M Y, H:i")

    @property
    def at_iso(self) -> str:
        return self.at.isoformat()


@dataclass
class ContractPage:
    contract: Contract
    viewer_is_party: bool
    rows: list[MilestoneRow]
    totals: MoneyTotals
    timeline: Shortlist[TimelineEntry]
    messages: Shortlist[ContractMessage]
    change_requests: Shortlist[ChangeRequest]
    milestone_page: Page[Milestone] | None = None
    fundable_count: int = 0  # approved milestones this viewer (the client) can fund on the "fund several" page
    end_blockers: Shortlist[Milestone] = field(default_factory=lambda: Shortlist([], total=0))
    # The viewer's view of the feedback once the contract ended (parties only).
    feedback: ContractFeedback | None = None

    @property
    def can_end(self) -> bool:
        return self.viewer_is_party and self.contract.is_active and not self.end_blockers.total


def milestone_next_transition(*, milestone: Milestone, viewer: User | AnonymousUser) -> str | None:
    """The main step this viewer can take next on this milestone: the first transition, in page order,
    that is the main move from the milestone's state (`main_in`) and that the model lets them fire.

    Side actions (a refund, a dispute, paying before the work arrives) stay on the milestone page.
    """
    if not milestone.contract.is_party(viewer):
        return None
    return next(
        (
            meta.name
            for meta in PAGE_TRANSITIONS
            if meta.main_in == milestone.state and has_transition_perm(getattr(milestone, meta.name), viewer)
        ),
        None,
    )


def contract_fundable_milestones(*, user: User, contract_id: int) -> tuple[Contract, QuerySet[Milestone]]:
    """The contract's approved milestones, for its client only (else Contract.DoesNotExist)."""
    contract = Contract.objects.get(pk=contract_id, client=user)
    return contract, contract.milestones.filter(state=MilestoneState.APPROVED).order_by("position", "pk")


# --- Timeline ---------------------------------------------------------------------------
_TIMELINE_COLUMNS = ("t_at", "t_pk", "t_actor", "t_kind", "t_action", "t_note", "t_title", "t_from", "t_to")


def _timeline_parts(*, contract: Contract) -> tuple[QuerySet[Any], QuerySet[Any]]:
    """The contract's own events and its milestones' events, as rows of the same columns, unordered."""
    text = CharField()
    contract_events = (
        ContractEvent.objects.filter(contract=contract)
        .annotate(
            t_at=F("at"),
            t_pk=F("pk"),
            t_actor=F("actor_id"),
            t_kind=Value("contract", output_field=text),
            t_action=F("action"),
            t_note=F("note"),
            t_title=Value("", output_field=text),
            t_from=Value("", output_field=text),
            t_to=Value("", output_field=text),
        )
        .order_by()  # SQLite refuses an ORDER BY inside a compound statement's part
        .values_list(*_TIMELINE_COLUMNS)
    )
    milestone_events = (
        MilestoneEvent.objects.filter(contract=contract)
        .annotate(
            t_at=F("at"),
            t_pk=F("pk"),
            t_actor=F("actor_id"),
            t_kind=Value("milestone", output_field=text),
            t_action=F("action"),
            t_note=F("note"),
            t_title=F("milestone__title"),
            t_from=F("from_state"),
            t_to=F("to_state"),
        )
        .order_by()
        .values_list(*_TIMELINE_COLUMNS)
    )
    return contract_events, milestone_events


_NEWEST_FIRST = ("-t_at", "-t_kind", "-t_pk")


def _timeline_rows(*, contract: Contract) -> QuerySet[Any]:
    """Every event of the contract and of its milestones as one UNION, newest first: pages read a slice."""
    contract_events, milestone_events = _timeline_parts(contract=contract)
    return contract_events.union(milestone_events, all=True).order_by(*_NEWEST_FIRST)


def _timeline_entries(rows: Iterable[tuple[Any, ...]]) -> list[TimelineEntry]:
    """Rows of `_timeline_rows` as entries (their actors in one query), oldest first."""
    rows = list(rows)
    actors = User.objects.in_bulk({row[2] for row in rows})
    contract_verbs = dict(ContractEvent.Action.choices)
    milestone_verbs = dict(MilestoneAction.choices)
    entries = []
    for at, _pk, actor_id, kind, action, note, title, from_state, to_state in rows:
        if kind == "contract":
            summary = str(contract_verbs.get(action, action))
        else:
            if not from_state:
                change = f" ({to_state})" if to_state else ""
            else:
                change = f" ({from_state} → {to_state})" if from_state != to_state else ""
            summary = f"{milestone_verbs.get(action, action)} “{title}”{change}"
        entries.append(TimelineEntry(at=at, actor=actors[actor_id], summary=summary, note=note))
    entries.reverse()
    return entries


def contract_timeline(*, contract: Contract, limit: int = TIMELINE_LATEST) -> Shortlist[TimelineEntry]:
    """The latest `limit` events on the contract and its milestones, oldest first, and how many there are.

    Each part is read newest first with its own limit and the two merged here: a UNION would sort and
    count every event of the contract (what the activity page pages through) for the latest few.
    """
    contract_events, milestone_events = _timeline_parts(contract=contract)
    latest = [
        *contract_events.order_by(*_NEWEST_FIRST)[:limit],
        *milestone_events.order_by(*_NEWEST_FIRST)[:limit],
    ]
    # The UNION's order: at, then kind ("milestone" after "contract"), then pk, all newest first.
    latest.sort(key=lambda row: (row[0], row[3], row[1]), reverse=True)
    total = ContractEvent.objects.filter(contract=contract).count()
    total += MilestoneEvent.objects.filter(contract=contract).count()
    return Shortlist(_timeline_entries(latest[:limit]), total=total)


def contract_activity_page(*, contract: Contract, page_number: str | None) -> tuple[Page[Any], list[TimelineEntry]]:
    """One page of the whole timeline, newest page first, each page oldest first (as on the contract page)."""
    page = Paginator(_timeline_rows(contract=contract), TIMELINE_PER_PAGE).get_page(page_number)
    return page, _timeline_entries(page.object_list)


# --- The contract page ------------------------------------------------------------------
def _milestone_row(
    *,
    milestone: Milestone,
    viewer: User | AnonymousUser,
    held: Any,
    open_change: ChangeRequest | None,
    now: datetime,
    paths: "_RowPaths",
) -> MilestoneRow:
    next_transition = milestone_next_transition(milestone=milestone, viewer=viewer)
    return MilestoneRow(
        milestone=milestone,
        next_action=TRANSITIONS[next_transition].next_step if next_transition else None,
        next_transition=next_transition,
        is_overdue=milestone_is_overdue(milestone=milestone, now=now),
        in_escrow=held.in_escrow,
        released=held.released,
        refunded=held.refunded,
        open_change=open_change,
        amount_text=format_money(milestone.amount, milestone.currency),
        due_text=_day(milestone.due_date),
        due_iso=milestone.due_date.isoformat(),
        deliverables_excerpt=Truncator(milestone.deliverables).words(20),
        dispute_id=getattr(milestone, "open_case_id", None),
        url=paths.detail(milestone.pk),
        change_url=paths.change(milestone.pk),
    )


@dataclass(frozen=True)
class _RowPaths:
    """Each row's links, from patterns reversed once per page."""

    detail: Callable[[int], str]
    change: Callable[[int], str]


def contract_page(
    *, contract: Contract, viewer: User | AnonymousUser, milestone_page_number: str | None = None
) -> ContractPage:
    """Everything the contract page shows, in the same queries and size for 3 or 3,000 milestones:
    one page of milestones, the latest events, messages and changes, and totals over all of them."""
    all_milestones = Milestone.objects.filter(contract=contract)
    counts = all_milestones.aggregate(
        agreed=Sum("amount", filter=Q(state__in=AGREED_STATES), default=0),
        approved=Count("pk", filter=Q(state=MilestoneState.APPROVED)),
    )
    shown = (
        all_milestones
        # The open dispute case (disputes sits above this app: read through the reverse relation, no import).
        .annotate(
            open_case=FilteredRelation("dispute_cases", condition=Q(dispute_cases__closed_at__isnull=True)),
            open_case_id=F("open_case__pk"),
        ).order_by("position", "pk")
    )
    milestone_page = Paginator(shown, CONTRACT_MILESTONES_PER_PAGE).get_page(milestone_page_number)
    milestones = list(milestone_page.object_list)
    for milestone in milestones:
        # One contract object for all, so the transition permissions read it without a query each.
        milestone.contract = contract
    # The ledger's totals for the shown milestones, and for all of them, one query each.
    money = milestone_money_totals(milestone_ids=[m.pk for m in milestones])
    held = milestone_money_sum(milestone_ids=all_milestones.values("pk"))
    change_requests = shortlist(
        ChangeRequest.objects.filter(contract=contract)
        .select_related("proposed_by", "decided_by", "milestone")
        .order_by(
            # Open changes first (they wait for an answer), then the latest decided.
            F("decided_at").desc(nulls_first=True),
            "-created_at",
            "-pk",
        ),
        limit=CHANGES_LATEST,
    )
    open_changes = dict(
        ChangeRequest.objects.filter(
            contract=contract, status=ChangeRequest.Status.PROPOSED, milestone__in=[m.pk for m in milestones]
        ).values_list("milestone_id", "pk")
    )
    open_by_pk = {c.pk: c for c in change_requests}
    now = timezone.now()
    paths = _RowPaths(detail=id_path("milestones:detail"), change=id_path("contracts:change_milestone", contract.pk))
    rows = [
        _milestone_row(
            milestone=milestone,
            viewer=viewer,
            held=money[milestone.pk],
            open_change=_open_change(open_changes.get(milestone.pk), open_by_pk),
            now=now,
            paths=paths,
        )
        for milestone in milestones
    ]
    viewer_is_party = contract.is_party(viewer)
    return ContractPage(
        contract=contract,
        viewer_is_party=viewer_is_party,
        rows=rows,
        totals=MoneyTotals(
            # Agreed means both parties said yes: proposed milestones are not agreed yet, cancelled ones no longer.
            agreed=counts["agreed"],
            in_escrow=held.in_escrow,
            released=held.released,
            refunded=held.refunded,
        ),
        timeline=contract_timeline(contract=contract),
        messages=contract_messages(contract=contract),
        change_requests=change_requests,
        milestone_page=milestone_page,
        fundable_count=(
            counts["approved"] if contract.is_active and getattr(viewer, "pk", None) == contract.client_id else 0
        ),
        end_blockers=shortlist(
            all_milestones.filter(state__in=ESCROW_STATES).order_by("position", "pk"), limit=END_BLOCKERS_SHOWN
        ),
        feedback=None if contract.is_active else contract_feedback(contract=contract, viewer=viewer),
    )


def _open_change(change_id: int | None, shown: dict[int, ChangeRequest]) -> ChangeRequest | None:
    """The open change on a row; one not among the shown changes still links to its anchor by pk."""
    if change_id is None:
        return None
    return shown.get(change_id) or ChangeRequest(pk=change_id)


def contract_messages(*, contract: Contract, limit: int = MESSAGES_LATEST) -> Shortlist[ContractMessage]:
    """The latest `limit` messages, oldest first, and how many there are."""
    thread = ContractMessage.objects.filter(contract=contract)
    latest = list(thread.select_related("author").order_by("-created_at", "-pk")[:limit])
    latest.reverse()
    return Shortlist(latest, total=thread.count())


def contract_messages_page(*, contract: Contract, page_number: str | None) -> Page[ContractMessage]:
    """One page of the whole thread, oldest first; without a page number, the last (latest) page."""
    thread = ContractMessage.objects.filter(contract=contract).select_related("author").order_by("created_at", "pk")
    paginator = Paginator(thread, LIST_PER_PAGE)
    return paginator.get_page(page_number or paginator.num_pages)


def change_request_visible(*, contract: Contract, change_request_id: int) -> ChangeRequest:
    """A change request of this (already access-checked) contract; raises DoesNotExist for any other."""
    return ChangeRequest.objects.select_related("milestone", "proposed_by").get(pk=change_request_id, contract=contract)


def contract_milestone(*, contract: Contract, milestone_id: int) -> Milestone:
    """A milestone of this (already access-checked) contract; raises DoesNotExist for any other."""
    milestone = Milestone.objects.get(pk=milestone_id, contract=contract)
    milestone.contract = contract
    return milestone


# --- Dashboards ---------------------------------------------------------------------


# The lists a dashboard shortens, each with its page of all rows: (role, step) -> heading.
MILESTONE_LISTS = {
    ("client", "approve"): "Milestones to approve or decline",
    ("client", "fund"): "Milestones to fund",
    ("client", "review"): "Submitted work to review",
    ("freelancer", "approve"): "Milestones to approve or decline",
    ("freelancer", "active"): "Active milestones",
}


_LIST_STATES = {
    "approve": [MilestoneState.PROPOSED],
    "fund": [MilestoneState.APPROVED],
    "review": [MilestoneState.SUBMITTED],
    "active": list(ACTIVE_STATES),
}


def dashboard_milestones(*, user: User, role: str, step: str) -> QuerySet[Milestone]:
    """The milestones of one dashboard list (see MILESTONE_LISTS), soonest due first; KeyError if unknown."""
    MILESTONE_LISTS[(role, step)]
    party = _party(user=user, role=role)
    states = _LIST_STATES[step]
    milestones = Milestone.objects.filter(party, state__in=states)
    if step == "approve":
        # Only the other party's proposals wait for this user's answer.
        milestones = milestones.exclude(proposed_by=user)
    return milestones.select_related("contract", "contract__client", "contract__freelancer").order_by("due_at", "pk")


def _party(*, user: User, role: str) -> Q:
    return Q(contract__client=user) if role == "client" else Q(contract__freelancer=user)


def _milestone_counts(*, user: User, role: str) -> dict[str, int]:
    """How many milestones each of the role's dashboard lists holds: one grouped query over the
    (contract, state, due_at) index, reading only the rows of the listed states, never the whole history."""
    S = MilestoneState
    by_state = (
        Milestone.objects.filter(_party(user=user, role=role), state__in=[S.PROPOSED, *ACTIVE_STATES, S.APPROVED])
        .values("state")
        .annotate(n=Count("pk"), others=Count("pk", filter=~Q(proposed_by=user)))
        .order_by()
    )
    counts = {row["state"]: row for row in by_state}

    def n(state: str) -> int:
        return counts[state]["n"] if state in counts else 0

    return {
        "approve": counts[S.PROPOSED]["others"] if S.PROPOSED in counts else 0,
        "fund": n(S.APPROVED),
        "review": n(S.SUBMITTED),
        "active": sum(n(state) for state in ACTIVE_STATES),
    }


def _dashboard_list(*, user: User, role: str, step: str, counts: dict[str, int]) -> Shortlist[Milestone]:
    milestones = dashboard_milestones(user=user, role=role, step=step)
    return shortlist(milestones, limit=DASHBOARD_LATEST, total=counts[step])


def contracts_of(*, user: User, role: str) -> QuerySet[Contract]:
    """The user's contracts in one role, active first, newest first."""
    if role == "client":
        return (
            Contract.objects.filter(client=user).select_related("freelancer").order_by("status", "-created_at", "-pk")
        )
    return Contract.objects.filter(freelancer=user).select_related("client").order_by("status", "-created_at", "-pk")


@dataclass
class ClientDashboard:
    contracts: Shortlist[Contract]
    open_jobs: Shortlist[Job]
    to_approve: Shortlist[Milestone]
    to_fund: Shortlist[Milestone]
    to_review: Shortlist[Milestone]
    changes_to_answer: Shortlist[ChangeRequest]
    # The open jobs with at least one proposal waiting for the client's answer (``waiting`` annotated).
    proposals_to_answer: Shortlist[Job] = field(default_factory=lambda: Shortlist([], total=0))

    @property
    def has_something_to_do(self) -> bool:
        """Whether anything waits for the client: a proposal to answer, or a milestone or change to act on."""
        return bool(
            self.proposals_to_answer.total
            or self.to_approve.total
            or self.to_fund.total
            or self.to_review.total
            or self.changes_to_answer.total
        )


@dataclass
class FreelancerDashboard:
    proposals: Shortlist[Proposal]
    contracts: Shortlist[Contract]
    active_milestones: Shortlist[tuple[Milestone, bool]]  # (milestone, is overdue), soonest due first
    to_approve: Shortlist[Milestone]
    changes_to_answer: Shortlist[ChangeRequest]
    earnings: list[EarningsSummary] = field(default_factory=list)  # one per currency


def dashboard_client(*, user: User) -> ClientDashboard:
    """What a client acts on: proposals per open job, milestones to approve, fund or review; the latest
    few of each, with how many there are in all (the rest is on the lists of MILESTONE_LISTS)."""
    counts = _milestone_counts(user=user, role="client")
    open_jobs = (
        Job.objects.filter(client=user, status=Job.Status.OPEN)
        .annotate(waiting=Count("proposals", filter=Q(proposals__status=Proposal.Status.SUBMITTED)))
        .order_by("-created_at", "-pk")
    )
    return ClientDashboard(
        contracts=shortlist(contracts_of(user=user, role="client"), limit=DASHBOARD_LATEST),
        open_jobs=shortlist(open_jobs, limit=DASHBOARD_LATEST),
        to_approve=_dashboard_list(user=user, role="client", step="approve", counts=counts),
        to_fund=_dashboard_list(user=user, role="client", step="fund", counts=counts),
        to_review=_dashboard_list(user=user, role="client", step="review", counts=counts),
        changes_to_answer=_changes_to_answer(contracts=Contract.objects.filter(client=user), user=user),
        proposals_to_answer=shortlist(open_jobs.filter(waiting__gt=0), limit=DASHBOARD_LATEST),
    )


def _changes_to_answer(*, contracts: QuerySet[Contract], user: User) -> Shortlist[ChangeRequest]:
    return shortlist(
        ChangeRequest.objects.filter(contract__in=contracts, status=ChangeRequest.Status.PROPOSED)
        .exclude(proposed_by=user)
        .select_related("contract", "milestone", "proposed_by")
        .order_by("-created_at", "-pk"),
        limit=DASHBOARD_LATEST,
    )


def dashboard_freelancer(*, user: User) -> FreelancerDashboard:
    """What a freelancer acts on: proposals sent, active milestones by due date (overdue marked), earnings;
    the latest few of each list, with how many there are in all."""
    counts = _milestone_counts(user=user, role="freelancer")
    active = _dashboard_list(user=user, role="freelancer", step="active", counts=counts)
    now = timezone.now()
    return FreelancerDashboard(
        proposals=shortlist(
            proposals_with_summary(Proposal.objects.filter(freelancer=user).select_related("job")).order_by(
                "-created_at", "-pk"
            ),
            limit=DASHBOARD_LATEST,
        ),
        contracts=shortlist(contracts_of(user=user, role="freelancer"), limit=DASHBOARD_LATEST),
        active_milestones=Shortlist(
            [(m, milestone_is_overdue(milestone=m, now=now)) for m in active], total=active.total
        ),
        to_approve=_dashboard_list(user=user, role="freelancer", step="approve", counts=counts),
        changes_to_answer=_changes_to_answer(contracts=Contract.objects.filter(freelancer=user), user=user),
        earnings=freelancer_earnings(user=user),
    )


def freelancer_earnings(*, user: User) -> list[EarningsSummary]:
    """The freelancer's earnings per currency from the ledger: pending (with release dates), available, paid out."""
    return [earnings_summary(user=user, currency=currency) for currency in earnings_currencies(user=user)]
