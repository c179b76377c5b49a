"""Contracts: an accepted proposal between one client and one freelancer."""

from django.conf import settings
from django.db import models

from core.models import AuditEvent
from core.money import CURRENCY_CHOICES


class Contract(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ENDED = "ended", "Ended"

    # One contract per job and per proposal: two accepts at once cannot both insert.
    job = models.OneToOneField("marketplace.Job", on_delete=models.PROTECT, related_name="contract")
    proposal = models.OneToOneField("marketplace.Proposal", on_delete=models.PROTECT, related_name="contract")
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contracts_as_client")
    freelancer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contracts_as_freelancer"
    )
    title = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    # The client's zone at acceptance: each milestone is due at the end of its agreed date here.
    timezone = models.CharField(max_length=64, default="UTC")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(client=models.F("freelancer")), name="contract_parties_differ"),
        ]

    def __str__(self) -> str:
        return self.title

    def is_party(self, user: object) -> bool:
        return getattr(user, "pk", None) in (self.client_id, self.freelancer_id)

    @property
    def is_active(self) -> bool:
        """Work and money may still move; an ended contract is history."""
        return self.status == self.Status.ACTIVE


class ContractEvent(AuditEvent):
    """The contract's own audit rows; the milestones' rows live in `MilestoneEvent`."""

    class Action(models.TextChoices):
        STARTED = "started", "started the contract"
        CHANGE_PROPOSED = "change_proposed", "proposed a change"
        CHANGE_ACCEPTED = "change_accepted", "accepted a change"
        CHANGE_DECLINED = "change_declined", "declined a change"
        CHANGE_WITHDRAWN = "change_withdrawn", "withdrew a change"
        ENDED = "ended", "ended the contract"

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=20, choices=Action.choices)

    class Meta(AuditEvent.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.actor} {self.get_action_display()}"


class ContractMessage(models.Model):
    """A plain-text message in the contract's thread; shown escaped, links made clickable."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    # The form's one-time token (core.forms.OneTimeTokenForm): a double click or a replayed POST posts once.
    form_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Message #{self.pk} on {self.contract}"


class ChangeRequest(models.Model):
    """A proposed change after the start: a new milestone, or new terms for an existing one.

    Nothing changes until the other party accepts; a declined or withdrawn request leaves
    everything as it was. A change to a funded milestone is a change order: only its amount
    and due date change, and the escrow difference moves through the ledger.
    """

    class Kind(models.TextChoices):
        NEW_MILESTONE = "new_milestone", "New milestone"
        TERMS = "terms", "Change of terms"
        CHANGE_ORDER = "change_order", "Change order"

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Waiting for an answer"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="change_requests")
    # Empty for a new milestone; once accepted, a new milestone's request points at it.
    milestone = models.ForeignKey(
        "milestones.Milestone", on_delete=models.PROTECT, null=True, blank=True, related_name="change_requests"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Numbered per milestone (1, 2, ...): a change order's ledger key is `change:<milestone>:<number>`.
    number = models.PositiveIntegerField(null=True, blank=True)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    deliverables = models.TextField()
    amount = models.BigIntegerField(help_text="Minor units in the contract's currency.")
    # The proposed calendar date; `due_at` is its end in the contract's zone (milestones.terms.due_at_from_date).
    due_date = models.DateField()
    due_at = models.DateTimeField()
    note = models.TextField(blank=True, help_text="Why the change is needed.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # The form's one-time token (core.forms.OneTimeTokenForm): a replayed POST proposes nothing twice.
    form_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="change_request_amount_positive"),
            models.UniqueConstraint(fields=["milestone", "number"], name="change_request_number_per_milestone"),
            # One open request per milestone, so two changes never race each other.
            models.UniqueConstraint(
                fields=["milestone"],
                condition=models.Q(status="proposed"),
                name="change_request_one_open_per_milestone",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} on {self.contract}"

    @property
    def is_open(self) -> bool:
        """Waiting for the other party's answer."""
        return self.status == self.Status.PROPOSED

    @property
    def changes_a_milestone(self) -> bool:
        """New terms or a change order for an existing milestone (not a new one)."""
        return self.kind != self.Kind.NEW_MILESTONE
