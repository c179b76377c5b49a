"""The access matrix: every URL of the project by every kind of visitor, GET and POST, with the answer each
must get; a refused request changes nothing, and an allowed POST does change something (so its data
is valid and the refusals prove access control, not a bad form).

The project's URL names come from the URLConf: a name without a row here fails
`test_every_url_has_a_row`, so a new view can't slip in unreviewed. Django admin and allauth are
covered by rules (`test_admin_*`, `test_allauth_*`) instead of one row per URL.

One world serves the module; every visitor's request runs in a savepoint that is rolled back, so one
visitor's POST never changes what the next one sees.
"""

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from disputes.models import DisputeReason
from milestones.models import MilestoneAction, MilestoneState
from milestones.views import ACTIONS
from tests.guards.access import (
    ACTS,
    LOGIN,
    NO_CONTENT,
    NOT_ALLOWED,
    NOT_FOUND,
    OK,
    REAUTH,
    REDIRECT,
    Expected,
    is_admin,
    is_allauth,
    outcome,
    request_as,
    routes,
)
from tests.guards.world import ACTORS, SUCCESS_CARD, World

pytestmark = pytest.mark.django_db
S = MilestoneState
A = MilestoneAction

Expectations = dict[str, Expected]


def by(*expected: Expected) -> Expectations:
    """One answer per visitor, in the order of ACTORS (anonymous, outsider, client, freelancer, staff, arbitrator)."""
    return dict(zip(ACTORS, expected, strict=True))


def everyone(expected: Expected) -> Expectations:
    return by(*[expected] * len(ACTORS))


def signed_in(anonymous: Expected, others: Expected) -> Expectations:
    return by(anonymous, *[others] * (len(ACTORS) - 1))


@dataclass(frozen=True)
class Row:
    kwargs: Callable[[World], dict[str, Any]]
    get: Expectations
    post: Expectations
    data: Callable[[World], dict[str, Any]] = field(default=lambda world: {})


def no_kwargs(world: World) -> dict[str, Any]:
    return {}


def token() -> str:
    return str(uuid.uuid4())


def future(days: int = 30) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def proposal_data(world: World) -> dict[str, Any]:
    return {
        "cover_letter": "I have built this before.",
        "milestones-TOTAL_FORMS": "1",
        "milestones-INITIAL_FORMS": "0",
        "milestones-MIN_NUM_FORMS": "1",
        "milestones-MAX_NUM_FORMS": "10",
        "milestones-0-title": "The whole thing",
        "milestones-0-deliverables": "Code and a report.",
        "milestones-0-amount": "250",
        "milestones-0-due_date": future(),
    }


def change_data(world: World) -> dict[str, Any]:
    return {
        "title": "Another screen",
        "deliverables": "One more screen.",
        "amount": "75",
        "due_date": future(),
        "note": "",
        "form_token": token(),
    }


def job(world: World) -> dict[str, Any]:
    return {"job_id": world.job.pk}


def proposal(world: World) -> dict[str, Any]:
    return {"proposal_id": world.proposal.pk}


def contract(world: World) -> dict[str, Any]:
    return {"contract_id": world.contract.pk}


def change(world: World) -> dict[str, Any]:
    return {"contract_id": world.contract.pk, "change_id": world.change.pk}


def milestone(state: str) -> Callable[[World], dict[str, Any]]:
    return lambda world: {"pk": world.milestones[state].pk}


def notification(world: World) -> dict[str, Any]:
    return {"notification_id": world.notification.pk}


# --- The milestone actions: the milestone each acts on, what it posts, and who may --------------
def _action_row(action: str, state: str, fields: dict[str, Any], client: Expected, freelancer: Expected) -> Row:
    def data(world: World) -> dict[str, Any]:
        values = {"form_token": token(), **fields}
        if action == A.SUBMIT:
            values["files"] = SimpleUploadedFile("work.pdf", b"%PDF-1.4 the work\n", content_type="application/pdf")
        return {f"{action}-{name}": value for name, value in values.items()}

    return Row(
        milestone(state),
        get=signed_in(LOGIN, NOT_ALLOWED),
        post=by(LOGIN, NOT_FOUND, client, freelancer, REDIRECT, REDIRECT),
        data=data,
    )


MILESTONE_ACTIONS: dict[str, Row] = {
    A.APPROVE: _action_row(A.APPROVE, S.PROPOSED, {"note": ""}, client=ACTS, freelancer=REDIRECT),
    A.DECLINE: _action_row(A.DECLINE, S.PROPOSED, {"note": "Not now"}, client=ACTS, freelancer=REDIRECT),
    A.WITHDRAW: _action_row(A.WITHDRAW, S.PROPOSED, {"note": ""}, client=REDIRECT, freelancer=ACTS),
    A.CANCEL: _action_row(A.CANCEL, S.APPROVED, {"note": "Plans changed"}, client=ACTS, freelancer=ACTS),
    A.FUND: _action_row(A.FUND, S.APPROVED, {"card_number": SUCCESS_CARD}, client=ACTS, freelancer=REDIRECT),
    A.SUBMIT: _action_row(A.SUBMIT, S.FUNDED, {"message": "Here it is"}, client=REDIRECT, freelancer=ACTS),
    A.REQUEST_CHANGES: _action_row(
        A.REQUEST_CHANGES, S.SUBMITTED, {"note": "Fix the header"}, client=ACTS, freelancer=REDIRECT
    ),
    A.RELEASE: _action_row(A.RELEASE, S.SUBMITTED, {"bonus": "", "note": ""}, client=ACTS, freelancer=REDIRECT),
    A.REFUND: _action_row(A.REFUND, S.FUNDED, {"note": ""}, client=REDIRECT, freelancer=ACTS),
}


# --- The disputes app: the case page and its actions are the parties'; its records the staff's too ---
def case(world: World) -> dict[str, Any]:
    return {"pk": world.dispute.pk}


def prefixed(prefix: str, **fields: Any) -> Callable[[World], dict[str, Any]]:
    """A disputes form's fields under its prefix, with a fresh one-time token."""
    return lambda world: {f"{prefix}-{name}": value for name, value in {"form_token": token(), **fields}.items()}


# Disputes and offers start on the submitted milestone (no offer is open on it); the world's open offer
# is on the funded one.
DISPUTE_ROWS: dict[str, Row] = {
    "disputes:detail": Row(
        case, get=by(LOGIN, NOT_FOUND, OK, OK, NOT_FOUND, NOT_FOUND), post=signed_in(LOGIN, NOT_ALLOWED)
    ),
    "disputes:statement_add": Row(
        case,
        get=signed_in(LOGIN, NOT_ALLOWED),
        post=by(LOGIN, NOT_FOUND, ACTS, ACTS, NOT_FOUND, NOT_FOUND),
        data=prefixed("statement", text="Here is <b>more</b>."),
    ),
    "disputes:escalate": Row(
        case,
        get=signed_in(LOGIN, NOT_ALLOWED),
        post=by(LOGIN, NOT_FOUND, ACTS, ACTS, NOT_FOUND, NOT_FOUND),
        data=prefixed("escalate", note="Please decide."),
    ),
    # The client opened the case, so only they may withdraw it; the freelancer is told so.
    "disputes:withdraw": Row(
        case,
        get=signed_in(LOGIN, NOT_ALLOWED),
        post=by(LOGIN, NOT_FOUND, ACTS, REDIRECT, NOT_FOUND, NOT_FOUND),
        data=prefixed("withdraw_dispute", note=""),
    ),
    "disputes:evidence_download": Row(
        lambda world: {"pk": world.dispute.pk, "file_id": world.evidence_id},
        get=by(LOGIN, NOT_FOUND, OK, OK, OK, OK),
        post=signed_in(LOGIN, NOT_ALLOWED),
    ),
    "disputes:packet": Row(case, get=by(LOGIN, NOT_FOUND, OK, OK, OK, OK), post=signed_in(LOGIN, NOT_ALLOWED)),
    "disputes:open": Row(
        lambda world: {"milestone_id": world.milestones[S.SUBMITTED].pk},
        get=by(LOGIN, NOT_FOUND, OK, OK, NOT_FOUND, NOT_FOUND),
        post=by(LOGIN, NOT_FOUND, ACTS, ACTS, NOT_FOUND, NOT_FOUND),
        data=prefixed("dispute", reason=DisputeReason.QUALITY, statement="It does not do what we agreed."),
    ),
    "disputes:offer_make": Row(
        lambda world: {"milestone_id": world.milestones[S.SUBMITTED].pk},
        get=by(LOGIN, NOT_FOUND, OK, OK, NOT_FOUND, NOT_FOUND),
        post=by(LOGIN, NOT_FOUND, ACTS, ACTS, NOT_FOUND, NOT_FOUND),
        data=prefixed("offer", freelancer_amount="100", message="Meet halfway?"),
    ),
    # The freelancer made the offer: the client accepts it (the escrow is divided), the freelancer is told
    # only the other party can.
    "disputes:offer_answer": Row(
        lambda world: {"offer_id": world.offer.pk, "answer": "accept"},
        get=signed_in(LOGIN, NOT_ALLOWED),
        post=by(LOGIN, NOT_FOUND, ACTS, REDIRECT, NOT_FOUND, NOT_FOUND),
        data=prefixed("accept"),
    ),
}

# --- The matrix ---------------------------------------------------------------------------------
MATRIX: dict[str, Row] = {
    "home": Row(no_kwargs, get=everyone(OK), post=everyone(OK)),
    "healthz": Row(no_kwargs, get=everyone(OK), post=everyone(OK)),
    "profile": Row(
        no_kwargs,
        get=signed_in(LOGIN, OK),
        post=signed_in(LOGIN, ACTS),
        data=lambda world: {"display_name": "Renamed", "timezone": "UTC", "is_client": "on", "is_freelancer": "on"},
    ),
    # marketplace
    "marketplace:jobs_list": Row(no_kwargs, get=everyone(OK), post=everyone(OK)),
    # An account that only works (the freelancer) is told it can't post jobs.
    "marketplace:job_create": Row(
        no_kwargs,
        get=signed_in(LOGIN, OK),
        post=by(LOGIN, ACTS, ACTS, OK, ACTS, ACTS),
        data=lambda world: {
            "title": "A new job",
            "description": "Build it.",
            "currency": "USD",
            "budget": "1,000",
            "category": "",
            "deadline": "",
            "form_token": token(),
        },
    ),
    "marketplace:job_detail": Row(job, get=everyone(OK), post=everyone(OK)),
    "marketplace:job_close": Row(
        job, get=everyone(NOT_ALLOWED), post=by(LOGIN, NOT_FOUND, ACTS, NOT_FOUND, NOT_FOUND, NOT_FOUND)
    ),
    "marketplace:job_proposals": Row(
        job,
        get=by(LOGIN, NOT_FOUND, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND),
        post=by(LOGIN, NOT_FOUND, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND),
    ),
    # The job's client, a freelancer who already proposed and non-freelancers are sent back with a message.
    "marketplace:proposal_create": Row(
        job,
        get=by(LOGIN, OK, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
        post=by(LOGIN, ACTS, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
        data=proposal_data,
    ),
    "marketplace:proposal_detail": Row(
        proposal, get=by(LOGIN, NOT_FOUND, OK, OK, OK, OK), post=by(LOGIN, NOT_FOUND, OK, OK, OK, OK)
    ),
    "marketplace:proposal_edit": Row(
        proposal,
        get=by(LOGIN, NOT_FOUND, NOT_FOUND, OK, NOT_FOUND, NOT_FOUND),
        post=by(LOGIN, NOT_FOUND, NOT_FOUND, ACTS, NOT_FOUND, NOT_FOUND),
        data=proposal_data,
    ),
    "marketplace:proposal_withdraw": Row(
        proposal, get=everyone(NOT_ALLOWED), post=by(LOGIN, NOT_FOUND, REDIRECT, ACTS, REDIRECT, REDIRECT)
    ),
    "marketplace:proposal_decline": Row(
        proposal,
        get=everyone(NOT_ALLOWED),
        post=by(LOGIN, NOT_FOUND, ACTS, REDIRECT, REDIRECT, REDIRECT),
        data=lambda world: {"message": "Not this time"},
    ),
    # contracts
    "contracts:detail": Row(contract, get=by(LOGIN, NOT_FOUND, OK, OK, OK, OK), post=everyone(NOT_ALLOWED)),
    "contracts:activity": Row(contract, get=by(LOGIN, NOT_FOUND, OK, OK, OK, OK), post=everyone(NOT_ALLOWED)),
    # Lists of one's own contracts and milestones in a role: anyone with the role sees their own (maybe empty).
    "contracts:list": Row(
        lambda world: {"role": "client"}, get=by(LOGIN, OK, OK, NOT_FOUND, OK, OK), post=everyone(NOT_ALLOWED)
    ),
    "contracts:milestone_list": Row(
        lambda world: {"role": "client", "step": "fund"},
        get=by(LOGIN, OK, OK, NOT_FOUND, OK, OK),
        post=everyone(NOT_ALLOWED),
    ),
    "contracts:messages": Row(
        contract,
        get=by(LOGIN, NOT_FOUND, OK, OK, OK, OK),
        post=by(LOGIN, NOT_FOUND, ACTS, ACTS, REDIRECT, REDIRECT),
        data=lambda world: {"body": "Hello <b>there</b>", "form_token": token()},
    ),
    "contracts:change_new": Row(
        contract,
        get=by(LOGIN, NOT_FOUND, OK, OK, OK, OK),
        post=by(LOGIN, NOT_FOUND, ACTS, ACTS, OK, OK),
        data=change_data,
    ),
    "contracts:change_milestone": Row(
        lambda world: {"contract_id": world.contract.pk, "milestone_id": world.milestones[S.APPROVED].pk},
        get=by(LOGIN, NOT_FOUND, OK, OK, OK, OK),
        post=by(LOGIN, NOT_FOUND, ACTS, ACTS, OK, OK),
        data=change_data,
    ),
    "contracts:change_accept": Row(
        change, get=everyone(NOT_ALLOWED), post=by(LOGIN, NOT_FOUND, ACTS, REDIRECT, REDIRECT, REDIRECT)
    ),
    "contracts:change_decline": Row(
        change,
        get=everyone(NOT_ALLOWED),
        post=by(LOGIN, NOT_FOUND, ACTS, REDIRECT, REDIRECT, REDIRECT),
        data=lambda world: {"note": ""},
    ),
    "contracts:change_withdraw": Row(
        change, get=everyone(NOT_ALLOWED), post=by(LOGIN, NOT_FOUND, REDIRECT, ACTS, REDIRECT, REDIRECT)
    ),
    "contracts:end": Row(
        lambda world: {"contract_id": world.quiet_contract.pk},
        get=by(LOGIN, NOT_FOUND, OK, OK, OK, OK),
        post=by(LOGIN, NOT_FOUND, ACTS, ACTS, REDIRECT, REDIRECT),
        data=lambda world: {"note": ""},
    ),
    "contracts:feedback": Row(
        lambda world: {"contract_id": world.ended_contract.pk},
        get=everyone(NOT_ALLOWED),
        post=by(LOGIN, NOT_FOUND, ACTS, ACTS, REDIRECT, REDIRECT),
        data=lambda world: {
            "quality": "4",
            "communication": "5",
            "reliability": "4",
            "comment": "Clear and on time.",
            "would_work_again": "yes",
        },
    ),
    "reputation:freelancer": Row(
        lambda world: {"user_id": world.freelancer.pk}, get=signed_in(LOGIN, OK), post=everyone(NOT_ALLOWED)
    ),
    "reputation:client": Row(
        lambda world: {"user_id": world.client.pk}, get=signed_in(LOGIN, OK), post=everyone(NOT_ALLOWED)
    ),
    "contracts:fund_milestones": Row(
        lambda world: {"contract_id": world.quiet_contract.pk},
        get=by(LOGIN, NOT_FOUND, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND),
        post=by(LOGIN, NOT_FOUND, ACTS, NOT_FOUND, NOT_FOUND, NOT_FOUND),
        data=lambda world: {
            "milestones": [world.quiet_milestone.pk],
            "card_number": SUCCESS_CARD,
            "form_token": token(),
        },
    ),
    "contracts:proposal_accept": Row(
        proposal,
        get=everyone(NOT_ALLOWED),
        post=by(LOGIN, NOT_FOUND, ACTS, REDIRECT, REDIRECT, REDIRECT),
        data=lambda world: {"seen": world.proposal.updated_at.isoformat()},
    ),
    # milestones
    "milestones:detail": Row(
        milestone(S.SUBMITTED), get=by(LOGIN, NOT_FOUND, OK, OK, OK, OK), post=signed_in(LOGIN, NOT_ALLOWED)
    ),
    "milestones:file_download": Row(
        lambda world: {"pk": world.milestones[S.SUBMITTED].pk, "file_id": world.file_id},
        get=by(LOGIN, NOT_FOUND, OK, OK, OK, OK),
        post=signed_in(LOGIN, NOT_ALLOWED),
    ),
    **{f"milestones:{name}": row for name, row in MILESTONE_ACTIONS.items()},
    **DISPUTE_ROWS,
    # notifications
    "notifications:list": Row(no_kwargs, get=signed_in(LOGIN, OK), post=signed_in(LOGIN, NOT_ALLOWED)),
    "notifications:unread_count": Row(no_kwargs, get=signed_in(NO_CONTENT, OK), post=everyone(NOT_ALLOWED)),
    "notifications:preferences": Row(
        no_kwargs,
        get=signed_in(LOGIN, OK),
        post=signed_in(LOGIN, ACTS),
        data=lambda world: {"email_frequency": "daily"},
    ),
    # The building of the world told both parties of things, so each has notices of their own to mark.
    "notifications:mark_all_read": Row(
        no_kwargs, get=signed_in(LOGIN, NOT_ALLOWED), post=by(LOGIN, REDIRECT, ACTS, ACTS, REDIRECT, REDIRECT)
    ),
    # Opening a notice marks it read: a GET that changes something, for its recipient only.
    "notifications:open": Row(
        notification,
        get=by(LOGIN, NOT_FOUND, ACTS, NOT_FOUND, NOT_FOUND, NOT_FOUND),
        post=signed_in(LOGIN, NOT_ALLOWED),
    ),
    "notifications:mark_read": Row(
        notification,
        get=signed_in(LOGIN, NOT_ALLOWED),
        post=by(LOGIN, NOT_FOUND, ACTS, NOT_FOUND, NOT_FOUND, NOT_FOUND),
    ),
    # payments: each visitor only ever reaches their own wallet.
    "payments:wallet": Row(no_kwargs, get=signed_in(LOGIN, OK), post=signed_in(LOGIN, NOT_ALLOWED)),
    "payments:add_funds": Row(
        no_kwargs,
        get=signed_in(LOGIN, NOT_ALLOWED),
        post=signed_in(LOGIN, ACTS),
        data=lambda world: {
            "add-amount": "10",
            "add-currency": "USD",
            "add-card_number": SUCCESS_CARD,
            "add-token": token(),
        },
    ),
    # Moving money out needs the password again first (allauth reauthentication).
    "payments:withdraw": Row(
        no_kwargs,
        get=signed_in(LOGIN, NOT_ALLOWED),
        post=signed_in(LOGIN, REAUTH),
        data=lambda world: {"withdraw-amount": "1", "withdraw-currency": "USD", "withdraw-token": token()},
    ),
    "payments:client_withdraw": Row(
        no_kwargs,
        get=signed_in(LOGIN, NOT_ALLOWED),
        post=signed_in(LOGIN, REAUTH),
        data=lambda world: {
            "card-withdraw-amount": "1",
            "card-withdraw-currency": "USD",
            "card-withdraw-card_number": SUCCESS_CARD,
            "card-withdraw-token": token(),
        },
    ),
    "payments:payout_destination": Row(
        no_kwargs,
        get=signed_in(LOGIN, NOT_ALLOWED),
        post=signed_in(LOGIN, REAUTH),
        data=lambda world: {"destination-account_holder": "Ada", "destination-account_label": "TEST-ACCOUNT-1234"},
    ),
    "payments:statement": Row(no_kwargs, get=signed_in(LOGIN, OK), post=signed_in(LOGIN, NOT_ALLOWED)),
    "payments:statement_csv": Row(no_kwargs, get=signed_in(LOGIN, OK), post=signed_in(LOGIN, NOT_ALLOWED)),
}


def project_routes() -> list:
    return [route for route in routes() if not is_admin(route) and not is_allauth(route)]


def test_every_url_has_a_row_and_every_row_a_url():
    # Every view of the project is named and in the matrix; Django admin and allauth follow rules below.
    unnamed = [str(route.pattern.pattern) for route in project_routes() if not route.name]
    assert not unnamed, f"name these URL patterns so the access matrix can list them: {unnamed}"
    names = {route.name for route in project_routes()}
    assert not names - set(MATRIX), f"add rows to the access matrix for: {sorted(names - set(MATRIX))}"
    assert not set(MATRIX) - names, f"rows for URLs that no longer exist: {sorted(set(MATRIX) - names)}"
    assert set(MILESTONE_ACTIONS) == set(ACTIONS)


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_access_matrix(world, name):
    # Given the world
    row = MATRIX[name]
    wrong = []
    for method in ("get", "post"):
        for actor in ACTORS:
            # When this visitor sends this request
            expected = (row.get if method == "get" else row.post)[actor]
            url = reverse(name, kwargs=row.kwargs(world))
            response, changed = request_as(
                world.users[actor], url, method, row.data(world) if method == "post" else None
            )
            got = outcome(response)
            # Then they get what the matrix says; a refusal changes nothing, an allowed action something
            if expected == ACTS:
                if got in (LOGIN, REAUTH) or not changed or (isinstance(got, int) and got >= 400):
                    wrong.append(f"{method.upper()} as {actor}: expected to act, got {got}, changed {changed}")
            elif got != expected or changed:
                wrong.append(f"{method.upper()} as {actor}: expected {expected}, got {got}, changed {changed}")
    assert not wrong, f"{name}:\n" + "\n".join(wrong)
