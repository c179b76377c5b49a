"""Form fuzzing: every form of the project gets Hypothesis-made input posted through the test client to
the real view, as the person who may use it.

Inputs mix amounts in every notation (negative, huge, exponents, other scripts' digits, full-width),
impossible and far dates, text carrying HTML and script, template syntax, NUL bytes, long strings
and garbage in hidden fields and choices. For each input: no server error (the test client raises
it), a refused input (the form itself is not valid) changes no table, and no HTML payload comes back
unescaped, on the response or on the page it redirects to.

Every form class in an app's forms module must be a target here (or a base named in BASES whose
subclasses are), so a new form is fuzzed from the day it is written. FUZZ_EXAMPLES sets the examples
per form (default 25).
"""

import datetime as dt
import importlib
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from allauth.account.forms import SignupForm
from django import forms
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.forms.formsets import BaseFormSet
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import forms as contract_forms
from core import forms as core_forms
from disputes import forms as dispute_forms
from marketplace import forms as marketplace_forms
from milestones import forms as milestone_forms
from milestones.models import MilestoneState
from notifications import forms as notification_forms
from notifications.selectors import notification_preferences_for_user
from payments import forms as payment_forms
from reputation import forms as reputation_forms
from reputation.models import CRITERIA, SubjectRole
from tests.guards.world import PROJECT_APPS, World, snapshot, snapshot_difference
from tests.users.factories import TEST_PASSWORD
from users import forms as user_forms

pytestmark = pytest.mark.django_db
S = MilestoneState
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))

# --- What the fuzzer types ----------------------------------------------------------------------
HTML_PAYLOADS = [
    '<script>alert("fuzz")</script>',
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(2)>",
    "<iframe src=javascript:alert(3)>",
]
NASTY_TEXT = [
    "",
    " ",
    "\x00",
    "line one\nline two",
    "tab\there",
    "\u202eevil",
    "{{ request.user.password }}",
    "{% debug %}",
    "'; DROP TABLE users_user; --",
    "javascript:alert(1)",
    "Zoë 🚀 ½ ٣",
    "x" * 5_000,
    "é" * 2_100,
    "<b>" * 1_000,
]
AMOUNTS = [
    "0",
    "-1",
    "1",
    "0.01",
    "0.001",
    "1,000.50",
    "1.000,50",
    "1e9",
    "NaN",
    "Infinity",
    "99999999999999999999999999",
    "\u0661\u0662\u0663",  # Arabic-Indic 123
    "\u0967\u0968\u0969",  # Devanagari 123
    "\uff11\uff12\uff13",  # full-width 123
    "12 34",
    "$5",
    "5 USD",
    " 7 ",
    "1_000",
    "\u0660\u066b\u0665",  # Arabic-Indic 0.5
]


def future(days: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


DATES = [
    "2020-01-01",
    "0001-01-01",
    "9999-12-31",
    "2027-02-30",
    "2027-13-01",
    "tomorrow",
    "\u0662\u0660\u0662\u0667-\u0660\u0661-\u0660\u0661",  # 2027-01-01 in Arabic-Indic digits
    "2027-01-01T00:00:00",
]

texts = st.one_of(
    st.text(max_size=30),
    st.sampled_from(NASTY_TEXT),
    st.sampled_from(HTML_PAYLOADS),
    st.builds(
        lambda a, payload, b: f"{a}{payload}{b}",
        st.text(max_size=8),
        st.sampled_from(HTML_PAYLOADS),
        st.text(max_size=8),
    ),
)
amounts = st.one_of(st.sampled_from(AMOUNTS), st.integers(-(10**12), 10**12).map(str), texts)
dates = st.one_of(
    st.sampled_from(DATES), st.integers(1, 4000).map(future), st.dates().map(lambda d: d.isoformat()), texts
)
uuids = st.one_of(st.uuids().map(str), texts)
AMOUNT_FIELD_NAMES = {"amount", "bonus", "budget", "budget_min", "budget_max", "freelancer_amount"}


def field_values(bound_field_name: str, field: forms.Field) -> st.SearchStrategy[Any]:
    """What to type into one field: mostly nonsense of its kind, sometimes something valid."""
    name = bound_field_name.rsplit("-", 1)[-1]
    if isinstance(field, core_forms.AmountField) or name in AMOUNT_FIELD_NAMES:
        return amounts
    if isinstance(field, forms.DateField):
        return dates
    if isinstance(field, forms.UUIDField):
        return uuids
    if isinstance(field, forms.BooleanField):
        return st.sampled_from(["on", "", "false", "0", "yes", "<script>"])
    if isinstance(field, forms.ModelMultipleChoiceField):
        valid = [str(pk) for pk in field.queryset.values_list("pk", flat=True)]
        return st.lists(st.one_of(st.sampled_from(valid or ["1"]), texts, st.integers().map(str)), max_size=3)
    if isinstance(field, forms.ChoiceField):
        valid = [str(value) for value, _ in field.choices]
        return st.one_of(st.sampled_from(valid), texts)
    return texts


# --- The forms and where they are posted ---------------------------------------------------------
Make = Callable[[World, Any, Any], Any]  # (world, data or None, files or None) -> a form or formset


@dataclass(frozen=True)
class Target:
    covers: tuple[type, ...]  # the form classes (and formsets) this exercises
    actor: str
    url: Callable[[World], str]
    make: Make  # the form as the view builds it; its fields are what is fuzzed
    method: str = "post"
    fixed: Callable[[World], dict[str, Any]] = field(default=lambda world: {})  # posted as is
    upload: str = ""  # a file field fuzzed through its file name
    reauthenticate: bool = False  # the view wants the password entered again first
    valid: Callable[[World, dict[str, Any], dict[str, Any]], bool] | None = None


def milestone_url(action: str, state: str) -> Callable[[World], str]:
    return lambda world: reverse(f"milestones:{action}", kwargs={"pk": world.milestones[state].pk})


def action_form(form_class: type, action: str, state: str) -> Make:
    return lambda world, data, files: form_class(data, files, milestone=world.milestones[state], prefix=action)


def action_target(form_class: type, action: str, state: str, actor: str, **options: Any) -> Target:
    return Target(
        covers=(form_class,),
        actor=actor,
        url=milestone_url(action, state),
        make=action_form(form_class, action, state),
        **options,
    )


PROPOSAL_MANAGEMENT = {
    "milestones-TOTAL_FORMS": "1",
    "milestones-INITIAL_FORMS": "0",
    "milestones-MIN_NUM_FORMS": "1",
    "milestones-MAX_NUM_FORMS": "10",
}


def proposal_valid(world: World, data: dict[str, Any], files: dict[str, Any]) -> bool:
    rows = marketplace_forms.proposal_milestone_formset(data=data, currency=world.job.currency)
    return marketplace_forms.ProposalForm(data).is_valid() and rows.is_valid()


TARGETS: dict[str, Target] = {
    "job": Target(
        covers=(marketplace_forms.JobForm,),
        actor="client",
        url=lambda world: reverse("marketplace:job_create"),
        make=lambda world, data, files: marketplace_forms.JobForm(data),
    ),
    "job search": Target(
        covers=(marketplace_forms.JobSearchForm,),
        actor="anonymous",
        url=lambda world: reverse("marketplace:jobs_list"),
        make=lambda world, data, files: marketplace_forms.JobSearchForm(data),
        method="get",
    ),
    # The cover letter and one milestone row, as the outsider (a freelancer with no proposal yet).
    "proposal": Target(
        covers=(
            marketplace_forms.ProposalForm,
            marketplace_forms.ProposalMilestoneForm,
            marketplace_forms.BaseProposalMilestoneFormSet,
        ),
        actor="outsider",
        url=lambda world: reverse("marketplace:proposal_create", kwargs={"job_id": world.job.pk}),
        make=lambda world, data, files: _proposal_fields(world),
        fixed=lambda world: dict(PROPOSAL_MANAGEMENT),
        valid=proposal_valid,
    ),
    "proposal decline": Target(
        covers=(marketplace_forms.DeclineForm,),
        actor="client",
        url=lambda world: reverse("marketplace:proposal_decline", kwargs={"proposal_id": world.proposal.pk}),
        make=lambda world, data, files: marketplace_forms.DeclineForm(data),
    ),
    "contract message": Target(
        covers=(contract_forms.MessageForm,),
        actor="client",
        url=lambda world: reverse("contracts:messages", kwargs={"contract_id": world.contract.pk}),
        make=lambda world, data, files: contract_forms.MessageForm(data),
    ),
    "change request": Target(
        covers=(contract_forms.ChangeRequestForm,),
        actor="client",
        url=lambda world: reverse(
            "contracts:change_milestone",
            kwargs={"contract_id": world.contract.pk, "milestone_id": world.milestones[S.APPROVED].pk},
        ),
        make=lambda world, data, files: contract_forms.ChangeRequestForm(
            data, currency=world.contract.currency, milestone=world.milestones[S.APPROVED]
        ),
    ),
    "change decline": Target(
        covers=(contract_forms.DecisionNoteForm,),
        actor="client",
        url=lambda world: reverse(
            "contracts:change_decline", kwargs={"contract_id": world.contract.pk, "change_id": world.change.pk}
        ),
        make=lambda world, data, files: contract_forms.DecisionNoteForm(data),
    ),
    "fund several": Target(
        covers=(milestone_forms.FundManyForm,),
        actor="client",
        url=lambda world: reverse("contracts:fund_milestones", kwargs={"contract_id": world.quiet_contract.pk}),
        make=lambda world, data, files: milestone_forms.FundManyForm(
            data, fundable=world.quiet_contract.milestones.filter(state=S.APPROVED)
        ),
    ),
    "milestone approve": action_target(milestone_forms.NoteForm, "approve", S.PROPOSED, "client"),
    "milestone request changes": action_target(
        milestone_forms.RequiredNoteForm, "request_changes", S.SUBMITTED, "client"
    ),
    "milestone fund": action_target(milestone_forms.FundForm, "fund", S.APPROVED, "client"),
    "milestone submit": action_target(milestone_forms.SubmitForm, "submit", S.FUNDED, "freelancer", upload="files"),
    "milestone release": action_target(milestone_forms.ReleaseForm, "release", S.SUBMITTED, "client"),
    "milestone refund": action_target(milestone_forms.NoteForm, "refund", S.SUBMITTED, "freelancer"),
    # The disputes app: the case is the world's (opened by the client), the offers start on the submitted milestone.
    "dispute open": Target(
        covers=(dispute_forms.DisputeOpenForm,),
        actor="client",
        url=lambda world: reverse("disputes:open", kwargs={"milestone_id": world.milestones[S.SUBMITTED].pk}),
        make=action_form(dispute_forms.DisputeOpenForm, "dispute", S.SUBMITTED),
        upload="files",
    ),
    "dispute statement": Target(
        covers=(dispute_forms.StatementForm,),
        actor="freelancer",
        url=lambda world: reverse("disputes:statement_add", kwargs={"pk": world.dispute.pk}),
        make=action_form(dispute_forms.StatementForm, "statement", S.DISPUTED),
        upload="files",
    ),
    "dispute escalate": Target(
        covers=(dispute_forms.NoteForm,),
        actor="freelancer",
        url=lambda world: reverse("disputes:escalate", kwargs={"pk": world.dispute.pk}),
        make=action_form(dispute_forms.NoteForm, "escalate", S.DISPUTED),
    ),
    "offer": Target(
        covers=(dispute_forms.OfferForm,),
        actor="client",
        url=lambda world: reverse("disputes:offer_make", kwargs={"milestone_id": world.milestones[S.SUBMITTED].pk}),
        make=action_form(dispute_forms.OfferForm, "offer", S.SUBMITTED),
    ),
    "offer accept": Target(
        covers=(dispute_forms.ConfirmForm,),
        actor="client",
        url=lambda world: reverse("disputes:offer_answer", kwargs={"offer_id": world.offer.pk, "answer": "accept"}),
        make=action_form(dispute_forms.ConfirmForm, "accept", S.FUNDED),
    ),
    # The arbitration desk's intermediate page, as the arbitrator, for a split (the form with both fields).
    "arbitration decision": Target(
        covers=(dispute_forms.DecisionForm,),
        actor="arbitrator",
        url=lambda world: reverse("admin:disputes_dispute_decide", args=[world.dispute.pk, "split"]),
        make=lambda world, data, files: _split_decision(data),
    ),
    "add funds": Target(
        covers=(payment_forms.AddFundsForm,),
        actor="client",
        url=lambda world: reverse("payments:add_funds"),
        make=lambda world, data, files: payment_forms.AddFundsForm(data),
    ),
    "withdraw": Target(
        covers=(payment_forms.WithdrawForm,),
        actor="freelancer",
        url=lambda world: reverse("payments:withdraw"),
        make=lambda world, data, files: payment_forms.WithdrawForm(data),
        reauthenticate=True,
    ),
    "withdraw to card": Target(
        covers=(payment_forms.ClientWithdrawForm,),
        actor="client",
        url=lambda world: reverse("payments:client_withdraw"),
        make=lambda world, data, files: payment_forms.ClientWithdrawForm(data),
        reauthenticate=True,
    ),
    "payout destination": Target(
        covers=(payment_forms.PayoutDestinationForm,),
        actor="freelancer",
        url=lambda world: reverse("payments:payout_destination"),
        make=lambda world, data, files: payment_forms.PayoutDestinationForm(data),
        reauthenticate=True,
    ),
    "notification preferences": Target(
        covers=(notification_forms.NotificationPreferencesForm,),
        actor="client",
        url=lambda world: reverse("notifications:preferences"),
        make=lambda world, data, files: notification_forms.NotificationPreferencesForm(
            data, preferences=notification_preferences_for_user(user=world.client)
        ),
    ),
    "feedback": Target(
        covers=(reputation_forms.FeedbackForm,),
        actor="client",
        url=lambda world: reverse("contracts:feedback", args=[world.ended_contract.pk]),
        make=lambda world, data, files: reputation_forms.FeedbackForm(data, criteria=CRITERIA[SubjectRole.FREELANCER]),
    ),
    "profile": Target(
        covers=(user_forms.ProfileForm,),
        actor="client",
        url=lambda world: reverse("profile"),
        make=lambda world, data, files: user_forms.ProfileForm(data, instance=world.client),
    ),
    # allauth's sign-up form carries the project's extra fields (ACCOUNT_SIGNUP_FORM_CLASS).
    "sign-up": Target(
        covers=(user_forms.SignupProfileForm,),
        actor="anonymous",
        url=lambda world: reverse("account_signup"),
        make=lambda world, data, files: SignupForm(data),
    ),
}

# Bases that no view posts as they are; each is fuzzed through its subclasses.
BASES = {
    core_forms.OneTimeTokenForm: (contract_forms.MessageForm, marketplace_forms.JobForm),
    milestone_forms.ActionForm: (milestone_forms.NoteForm, dispute_forms.NoteForm, dispute_forms.OfferForm),
    dispute_forms.EvidenceFormMixin: (dispute_forms.DisputeOpenForm, dispute_forms.StatementForm),
    payment_forms.WalletForm: (
        payment_forms.AddFundsForm,
        payment_forms.WithdrawForm,
        payment_forms.ClientWithdrawForm,
    ),
    user_forms.RolesMixin: (user_forms.ProfileForm, user_forms.SignupProfileForm),
}


def _split_decision(data: Any) -> forms.Form:
    """The decision form as the desk builds it for a split: the freelancer's amount is required."""
    form = dispute_forms.DecisionForm(data)
    form.fields["freelancer_amount"].required = True
    return form


def _proposal_fields(world: World) -> forms.Form:
    """The proposal page's fields as one form: the cover letter and the first milestone row."""
    combined = forms.Form()
    combined.fields["cover_letter"] = marketplace_forms.ProposalForm.base_fields["cover_letter"]
    row = marketplace_forms.ProposalMilestoneForm(prefix="milestones-0", currency=world.job.currency)
    for name, row_field in row.fields.items():
        combined.fields[row.add_prefix(name)] = row_field
    return combined


# --- Every form is a target ----------------------------------------------------------------------
def project_form_classes() -> set[type]:
    """Every form and formset class defined in an app's forms module."""
    found: set[type] = set()
    for config in apps.get_app_configs():
        if config.label not in PROJECT_APPS:
            continue
        try:
            module = importlib.import_module(f"{config.name}.forms")
        except ModuleNotFoundError as error:
            if error.name != f"{config.name}.forms":
                raise
            continue
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and issubclass(cls, forms.BaseForm | BaseFormSet):
                found.add(cls)
    return found


def test_every_form_is_fuzzed():
    covered = {cls for target in TARGETS.values() for cls in target.covers}
    for base, subclasses in BASES.items():
        assert all(issubclass(sub, base) and sub in covered for sub in subclasses), base
    missing = project_form_classes() - covered - set(BASES)
    assert not missing, f"add a fuzzing target for: {sorted(cls.__qualname__ for cls in missing)}"


# --- The fuzzing ----------------------------------------------------------------------------------
def _inputs(target: Target, world: World) -> st.SearchStrategy[dict[str, Any]]:
    form = target.make(world, None, None)
    strategies = {
        form.add_prefix(name) if form.prefix else name: field_values(name, form_field)
        for name, form_field in form.fields.items()
        if not form_field.disabled and name != target.upload
    }
    return st.fixed_dictionaries(strategies)


def _upload_key(target: Target, world: World) -> str:
    form = target.make(world, None, None)
    return form.add_prefix(target.upload) if form.prefix else target.upload


def _is_valid(target: Target, world: World, data: dict[str, Any], files: dict[str, Any]) -> bool:
    if target.valid is not None:
        return target.valid(world, data, files)
    return bool(target.make(world, data, files).is_valid())


def _payloads_in(values: dict[str, Any]) -> set[str]:
    text = " ".join(str(value) for value in values.values())
    return {payload for payload in HTML_PAYLOADS if payload in text}


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_fuzzed_input_never_breaks_a_form(world, name):
    target = TARGETS[name]
    user = world.users[target.actor]
    url = target.url(world)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(values=_inputs(target, world), file_name=texts)
    def post_one(values: dict[str, Any], file_name: str) -> None:
        data = {**target.fixed(world), **values}

        def files() -> dict[str, Any]:
            if not target.upload:
                return {}
            content = b"%PDF-1.4 fuzz\n"
            name = f"{file_name[:200]}.pdf"
            return {_upload_key(target, world): SimpleUploadedFile(name, content, content_type="application/pdf")}

        savepoint = transaction.savepoint()
        try:
            browser = Client()
            if user is not None:
                browser.force_login(user)
                if target.reauthenticate:
                    browser.post(reverse("account_reauthenticate"), {"password": TEST_PASSWORD})
            valid = _is_valid(target, world, data, files())
            before = snapshot()
            # When the input is sent (a server error would raise here), following any redirect
            if target.method == "get":
                response = browser.get(url, data, follow=True)
            else:
                response = browser.post(url, {**data, **files()}, follow=True)
            changed = snapshot_difference(before, snapshot())
        finally:
            transaction.savepoint_rollback(savepoint)
        # Then a refused input changed nothing
        assert valid or not changed, f"refused input changed {changed}: {data!r}"
        # And nothing typed came back as live HTML
        body = response.content.decode(errors="replace")
        leaked = [payload for payload in _payloads_in({**data, "file": file_name}) if payload in body]
        assert not leaked, f"rendered unescaped: {leaked}"

    post_one()
