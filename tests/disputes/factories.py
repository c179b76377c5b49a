"""Cases and offers built through the services, on milestones from tests.milestones.factories."""

from django.core.files.uploadedfile import SimpleUploadedFile

from disputes.models import Dispute, DisputeReason
from disputes.services import dispute_escalate, dispute_open
from milestones.models import Milestone, MilestoneState
from tests.milestones.factories import funded_contract, milestone_in_state

S = MilestoneState


def evidence(name: str = "photo.png", content: bytes = b"\x89PNG\r\n\x1a\n not really a photo") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/png")


def open_case(
    *,
    state: str = S.SUBMITTED,
    amount: int = 40_000,
    by: str = "client",
    files: tuple[SimpleUploadedFile, ...] = (),
    milestone: Milestone | None = None,
) -> Dispute:
    """A case opened by `by` on a funded or submitted milestone (awaiting the other party's answer)."""
    if milestone is None:
        contract = funded_contract(balance=max(500_000, amount))
        milestone = milestone_in_state(state, amount=amount, contract=contract)
    contract = milestone.contract
    return dispute_open(
        milestone=milestone,
        actor=contract.client if by == "client" else contract.freelancer,
        reason=DisputeReason.QUALITY,
        statement="The work does not do what we agreed.",
        files=list(files),
    )


def case_in_arbitration(**kwargs: object) -> Dispute:
    case = open_case(**kwargs)  # type: ignore[arg-type]
    return dispute_escalate(dispute=case, actor=case.milestone.contract.client, note="Please decide.")


def fresh(case: Dispute) -> Dispute:
    return Dispute.objects.select_related("milestone__contract").get(pk=case.pk)
