"""Wallet pages: thin views over the ledger's services and selectors; each user sees only their own money."""

import csv
from collections.abc import Iterator

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from core.money import format_amount_plain, format_money
from payments import selectors, services
from payments.errors import PaymentError
from payments.forms import AddFundsForm, ClientWithdrawForm, PayoutDestinationForm, WithdrawForm
from payments.ledger.models import AccountKind, Entry
from payments.models import PayoutDestination, PayoutStatus
from users.http import AuthenticatedRequest

STATEMENT_PAGE_SIZE = 50
RECENT_ACTIVITY = 8


def _wallet_page(
    request: AuthenticatedRequest,
    *,
    add_funds_form: AddFundsForm | None = None,
    client_withdraw_form: ClientWithdrawForm | None = None,
    withdraw_form: WithdrawForm | None = None,
    destination_form: PayoutDestinationForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    balances = selectors.client_balances(user=user)
    earnings = [
        selectors.earnings_summary(user=user, currency=currency)
        for currency in selectors.earnings_currencies(user=user)
    ]
    context = {
        "balances": balances,
        # Each role sees only its own money: the client balance for clients (or anyone who still holds one).
        "show_client_balance": user.is_client or any(balances.values()),
        "add_funds_form": add_funds_form or AddFundsForm(),
        "client_withdraw_form": client_withdraw_form or ClientWithdrawForm(),
        "has_client_balance": any(balances.values()),
        "withdraw_form": withdraw_form or WithdrawForm(),
        "destination": PayoutDestination.objects.filter(user=user).first(),
        "destination_form": destination_form or PayoutDestinationForm(),
        "available_total": sum(summary.available for summary in earnings),
        "next_available": min(
            (lot for s in earnings for lot in s.pending_lots), key=lambda lot: lot.available_at, default=None
        ),
        "earnings": earnings,
        "show_earnings": bool(earnings) or user.is_freelancer,
        "payouts": selectors.payouts_for_user(user=user, limit=10),
        "recent_entries": list(selectors.statement_for_user(user=user)[:RECENT_ACTIVITY]),
    }
    return render(request, "payments/wallet.html", context, status=status)


@login_required
@require_GET
def wallet(request: AuthenticatedRequest) -> HttpResponse:
    return _wallet_page(request)


@login_required
@require_POST
def add_funds(request: AuthenticatedRequest) -> HttpResponse:
    form = AddFundsForm(request.POST)
    if not form.is_valid():
        return _wallet_page(request, add_funds_form=form, status=400)
    amount, currency = form.cleaned_data["amount_minor"], form.cleaned_data["currency"]
    try:
        posted = services.deposit(
            user=request.user,
            amount=amount,
            currency=currency,
            card_number=form.cleaned_data["card_number"],
            idempotency_key=form.idempotency_key,
        )
    except PaymentError as error:
        messages.error(request, str(error))
    else:
        if posted.replayed:
            messages.info(request, "That deposit was already recorded; your card was not charged again.")
        else:
            messages.success(request, f"{format_money(amount, currency)} was added to your balance.")
    return redirect("payments:wallet")


@login_required
@require_POST
@reauthentication_required
def withdraw(request: AuthenticatedRequest) -> HttpResponse:
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        return _wallet_page(request, withdraw_form=form, status=400)
    amount, currency = form.cleaned_data["amount_minor"], form.cleaned_data["currency"]
    try:
        payout = services.payout_request(
            user=request.user, amount=amount, currency=currency, idempotency_key=form.idempotency_key
        )
    except PaymentError as error:
        messages.error(request, str(error))
    else:
        if payout.replayed:
            messages.info(request, "That withdrawal was already requested; nothing was done twice.")
        else:
            messages.success(
                request, f"Withdrawal of {format_money(amount, currency)} requested. It is on its way to your bank."
            )
    return redirect("payments:wallet")


@login_required
@require_POST
@reauthentication_required
def client_withdraw(request: AuthenticatedRequest) -> HttpResponse:
    form = ClientWithdrawForm(request.POST)
    if not form.is_valid():
        return _wallet_page(request, client_withdraw_form=form, status=400)
    amount, currency = form.cleaned_data["amount_minor"], form.cleaned_data["currency"]
    try:
        withdrawal = services.client_withdraw(
            user=request.user,
            amount=amount,
            currency=currency,
            card_number=form.cleaned_data["card_number"],
            idempotency_key=form.idempotency_key,
        )
    except PaymentError as error:
        messages.error(request, str(error))
        return redirect("payments:wallet")
    money = format_money(amount, currency)
    if withdrawal.status == PayoutStatus.FAILED:
        messages.error(request, f"That withdrawal was refused: {withdrawal.reason}")
    elif withdrawal.replayed:
        messages.info(request, "That withdrawal was already made; your card was not paid twice.")
    else:
        messages.success(request, f"{money} was withdrawn to your card ending {withdrawal.card_last4}.")
    return redirect("payments:wallet")


@login_required
@require_POST
@reauthentication_required
def payout_destination(request: AuthenticatedRequest) -> HttpResponse:
    form = PayoutDestinationForm(request.POST)
    if not form.is_valid():
        return _wallet_page(request, destination_form=form, status=400)
    try:
        destination = services.payout_destination_set(
            user=request.user,
            account_holder=form.cleaned_data["account_holder"],
            account_label=form.cleaned_data["account_label"],
        )
    except PaymentError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Payouts will go to {destination.label}.")
    return redirect("payments:wallet")


@login_required
@require_GET
def statement(request: AuthenticatedRequest) -> HttpResponse:
    page = Paginator(selectors.statement_for_user(user=request.user), STATEMENT_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "payments/statement.html", {"page": page})


class _Echo:
    """A file-like object whose write returns the line, for streaming csv rows."""

    def write(self, value: str) -> str:
        return value


def csv_cell_defuse(text: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas; memos contain user-chosen titles."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _statement_rows(entries: QuerySet[Entry]) -> Iterator[list[str]]:
    yield ["date", "transaction", "kind", "description", "account", "currency", "amount"]
    for entry in entries.iterator(chunk_size=500):
        yield [
            timezone.localtime(entry.transaction.created_at).isoformat(timespec="seconds"),
            str(entry.transaction_id),
            entry.transaction.kind,
            csv_cell_defuse(entry.transaction.memo),
            AccountKind(entry.account.kind).label,
            entry.currency,
            format_amount_plain(entry.signed_amount, entry.currency),
        ]


@login_required
@require_GET
def statement_csv(request: AuthenticatedRequest) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    rows = _statement_rows(selectors.statement_for_user(user=request.user))
    response = StreamingHttpResponse((writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8")
    filename = f"milestone-statement-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # A statement is private: no shared cache or browser back-button copy may keep it.
    response["Cache-Control"] = "private, no-store"
    return response
