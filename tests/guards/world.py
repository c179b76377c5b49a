"""A small world for the guard suites: two parties with a job, a proposal, contracts and milestones in
every state a page or action needs, a dispute case with evidence, an open money offer, an outsider,
staff and an arbitrator; and a snapshot of every project table, to prove a refused request changed
nothing.

Everything is built through the services (tests/*/factories.py), as the product builds it.
"""

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction
from django.db.models import Model
from django.test import override_settings
from django.utils import timezone

from contracts.models import ChangeRequest, Contract
from contracts.services import change_request_propose, contract_end
from disputes.models import Dispute, EvidenceFile, Offer
from disputes.services import dispute_statement_add, offer_make
from marketplace.models import Job, Proposal
from milestones.models import DeliverableFile, Milestone, MilestoneState
from milestones.terms import MilestoneTerms
from notifications.kinds import NotificationKind
from notifications.models import Notification
from notifications.services import notify
from tests.contracts.factories import contract_started
from tests.disputes.factories import evidence
from tests.marketplace.factories import JobFactory, proposal_with_rows
from tests.payments.factories import milestone_in_state
from tests.users.factories import ClientFactory, FreelancerFactory, UserFactory
from users.models import User

ACTORS = ("anonymous", "outsider", "client", "freelancer", "staff", "arbitrator")
PROJECT_APPS = (
    "core",
    "users",
    "notifications",
    "ledger",
    "payments",
    "milestones",
    "reputation",
    "marketplace",
    "contracts",
    "disputes",
)
# Logging in stamps last_login; that is the session's doing, not the request's.
VOLATILE_FIELDS = {"last_login"}
SUCCESS_CARD = "4242 4242 4242 4242"
S = MilestoneState


def arbitrator_create() -> User:
    """A staff member in the Arbitrators group, which holds `disputes.arbitrate` (plain staff do not)."""
    group, _ = Group.objects.get_or_create(name="Arbitrators")
    group.permissions.add(Permission.objects.get(content_type__app_label="disputes", codename="arbitrate"))
    user = UserFactory(is_staff=True, email=f"arbitrator-{uuid.uuid4().hex[:8]}@example.com")
    user.groups.add(group)
    return user


@dataclass
class World:
    users: dict[str, User | None]
    job: Job  # the client's open job
    proposal: Proposal  # the freelancer's waiting proposal on it
    contract: Contract  # with a milestone in every state below
    milestones: dict[str, Milestone]
    file_id: int  # a deliverable of the submitted milestone
    change: ChangeRequest  # the freelancer's pending change on the contract
    dispute: Dispute  # the case on the disputed milestone, opened by the client, awaiting the freelancer
    evidence_id: int  # a file of the freelancer's statement in that case
    offer: Offer  # the freelancer's open offer on the funded milestone, for the client to answer
    quiet_contract: Contract  # nothing in escrow: one approved milestone, so it can be funded or ended
    quiet_milestone: Milestone
    ended_contract: Contract  # ended, so its parties may leave feedback
    notification: Notification  # the client's, unread

    @property
    def client(self) -> User:
        user = self.users["client"]
        assert user is not None
        return user

    @property
    def freelancer(self) -> User:
        user = self.users["freelancer"]
        assert user is not None
        return user


def world_build() -> World:
    client, freelancer = ClientFactory(), FreelancerFactory()
    # The outsider could act as either role, so only access control keeps them out.
    outsider = UserFactory(is_client=True, is_freelancer=True)
    staff = UserFactory(is_staff=True, email=f"staff-{uuid.uuid4().hex[:8]}@example.com")
    job = JobFactory(client=client)
    proposal = proposal_with_rows(job=job, freelancer=freelancer, amounts=(40_000,))
    contract = contract_started(milestones=1, client=client, freelancer=freelancer, amount=30_000)
    milestones = {S.APPROVED: contract.milestones.get()}
    for state in (S.PROPOSED, S.FUNDED, S.SUBMITTED, S.DISPUTED):
        milestones[state] = milestone_in_state(state, contract=contract, amount=20_000)
    submitted = DeliverableFile.objects.filter(submission__milestone=milestones[S.SUBMITTED]).first()
    assert submitted is not None
    # The disputed milestone's case was opened by the client through disputes.services (the factory).
    dispute = milestones[S.DISPUTED].open_dispute_case
    assert dispute is not None
    dispute_statement_add(dispute=dispute, actor=freelancer, text="My side.", files=[evidence()])
    evidence_file = EvidenceFile.objects.get(statement__dispute=dispute)
    offer = offer_make(milestone=milestones[S.FUNDED], actor=freelancer, freelancer_amount=5_000, message="Half?")
    change = change_request_propose(
        contract=contract,
        proposed_by=freelancer,
        milestone=None,
        terms=MilestoneTerms(
            title="Extra work",
            deliverables="One more screen.",
            amount=10_000,
            due_date=timezone.localdate() + dt.timedelta(days=20),
        ),
        form_token=uuid.uuid4(),
    )
    quiet_contract = contract_started(milestones=1, client=client, freelancer=freelancer, amount=15_000)
    ended_contract = contract_end(
        contract=contract_started(milestones=1, client=client, freelancer=freelancer, amount=5_000), actor=client
    )
    (notification,) = notify(
        recipients=[client], kind=NotificationKind.CONTRACT_MESSAGE, subject="Hello", body="A notice.", link="/"
    )
    return World(
        users={
            "anonymous": None,
            "outsider": outsider,
            "client": client,
            "freelancer": freelancer,
            "staff": staff,
            "arbitrator": arbitrator_create(),
        },
        job=job,
        proposal=proposal,
        contract=contract,
        milestones=milestones,
        file_id=submitted.pk,
        change=change,
        dispute=dispute,
        evidence_id=evidence_file.pk,
        offer=offer,
        quiet_contract=quiet_contract,
        quiet_milestone=quiet_contract.milestones.get(),
        ended_contract=ended_contract,
        notification=notification,
    )


@contextmanager
def world_kept(media_root: Path) -> Iterator[World]:
    """One world for a whole module, rolled back at its end (as TestCase.setUpTestData does).

    Each test still runs in its own savepoint inside it; the deliverable files go to `media_root`,
    which the tests must use as MEDIA_ROOT too.
    """
    with override_settings(MEDIA_ROOT=str(media_root)), transaction.atomic():
        yield world_build()
        transaction.set_rollback(True)


def _project_models() -> list[type[Model]]:
    return [
        model
        for label in PROJECT_APPS
        if label in {config.label for config in apps.get_app_configs()}
        for model in apps.get_app_config(label).get_models()
    ]


Snapshot = dict[str, tuple[int, str]]


def snapshot() -> Snapshot:
    """Each project table's row count and a digest of all its rows, field by field.

    One query on PostgreSQL (row text, sorted, hashed in the database); the ORM on SQLite.
    """
    tables = {
        model._meta.label: (
            model,
            [f for f in model._meta.concrete_fields if f.attname not in VOLATILE_FIELDS],
        )
        for model in _project_models()
    }
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        parts = [
            f"SELECT %s, count(*), md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), ''))"
            f" FROM (SELECT {', '.join(quote(f.column) for f in fields)} FROM {quote(model._meta.db_table)}) r"
            for model, fields in tables.values()
        ]
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), list(tables))
            return {label: (count, digest) for label, count, digest in cursor.fetchall()}
    result: Snapshot = {}
    for label, (model, fields) in tables.items():
        rows = list(model._default_manager.order_by("pk").values_list(*(f.attname for f in fields)))
        result[label] = (len(rows), repr(rows))
    return result


def snapshot_difference(before: Snapshot, after: Snapshot) -> list[str]:
    """The tables whose rows differ, with their row counts before and after."""
    return [
        f"{label}: {before[label][0]} -> {after[label][0]} rows" for label in before if before[label] != after[label]
    ]
