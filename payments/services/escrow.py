"""A milestone's escrow: fund, release (with an optional bonus), refund, split and change order.

Each takes the milestone (an `EscrowSubject`) from the milestone services, which lock its row
first and call these inside their transaction (`within_caller_transaction`).
"""

from core.money import format_money
from payments.errors import EscrowEmpty, PaymentError
from payments.fees import platform_fee_split
from payments.gateway import gateway_get
from payments.ledger.models import Account, AccountKind, LedgerTransaction, TransactionKind
from payments.ledger.posting import Accounts, Balances, Posting, Refs, credit, debit, fingerprint
from payments.services._common import (
    EscrowSubject,
    check_parties,
    escrow,
    fees,
    insufficient,
    money_atomic,
    post,
    post_once,
    replay,
    require_currency,
    title,
    user_account,
    world,
)
from payments.services.earnings import lot_create
from users.models import User

NOTHING_HELD = "Nothing is held in escrow for this milestone; it was already released or refunded."


def _held(balances: Balances, escrow_account: Account) -> int:
    held = balances[escrow_account.pk]
    if held <= 0:
        raise EscrowEmpty(NOTHING_HELD)
    return held


@money_atomic
def escrow_fund(
    *, milestone: EscrowSubject, client: User, amount: int, currency: str, card_number: str | None = None
) -> LedgerTransaction:
    """Client balance -> the milestone's escrow (or, with `card_number`, a direct card charge).

    Key `fund:<milestone>`. Raises InsufficientFunds when the client balance is too low.
    """
    require_currency(currency)
    if currency != milestone.currency:
        raise PaymentError(f"This milestone is paid in {milestone.currency}, not {currency}.")
    if amount <= 0:
        raise PaymentError("The amount must be greater than zero.")
    check_parties(milestone, client=client)
    key = f"fund:{milestone.pk}"
    params = fingerprint(
        "fund",
        milestone=milestone.pk,
        client=client.pk,
        amount=amount,
        currency=currency,
        source="card" if card_number else "balance",
    )
    memo, external_ref = f"Escrow for milestone {title(milestone)}", ""
    # A replay charges no card; the ledger's own replay check comes after the charge, under the locks.
    if card_number and (earlier := replay(key=key, fingerprint=params)):
        return earlier

    def accounts() -> Refs:
        nonlocal memo, external_ref
        escrow_account = escrow(milestone)
        if not card_number:
            return [user_account(AccountKind.CLIENT_BALANCE, client, currency), escrow_account]
        charge = gateway_get().charge(
            amount=amount, currency=currency, card_number=card_number, idempotency_key=f"{key}:{client.pk}"
        )
        external_ref = charge.charge_id
        memo = f"Escrow for milestone {title(milestone)}, charged to card ending {charge.card_last4}"
        return [world(currency), escrow_account]

    def build(accounts: Accounts, balances: Balances) -> Posting:
        source, escrow_account = accounts
        if not card_number and balances[source.pk] < amount:
            raise insufficient("balance", balances[source.pk], amount, currency)
        return Posting(
            kind=TransactionKind.FUND,
            legs=[debit(source, amount), credit(escrow_account, amount)],
            memo=memo,
            milestone_id=milestone.pk,
            contract_id=milestone.contract_id,
            user_id=client.pk,
            external_ref=external_ref,
        )

    return post_once(key=key, fingerprint=params, accounts=accounts, build=build)


@money_atomic
def escrow_release(*, milestone: EscrowSubject, client: User, freelancer: User, bonus: int = 0) -> LedgerTransaction:
    """The whole escrow -> the freelancer's pending earnings less the fee, the fee -> fee revenue.

    Key `release:<milestone>`. A bonus moves in a second transaction (key `bonus:<milestone>`,
    same database transaction) from the client balance to pending earnings; the platform fee
    applies to the bonus too, computed on it alone (as Upwork does). Each transaction creates an
    earnings lot that becomes available after EARNINGS_HOLD_PERIOD. Returns the release.
    """
    if bonus < 0:
        raise PaymentError("A bonus cannot be negative.")
    check_parties(milestone, client=client, freelancer=freelancer)
    params = fingerprint("release", milestone=milestone.pk, client=client.pk, freelancer=freelancer.pk, bonus=bonus)
    currency = milestone.currency

    def accounts() -> Refs:
        pending = user_account(AccountKind.PENDING_EARNINGS, freelancer, currency)
        bonus_source = [user_account(AccountKind.CLIENT_BALANCE, client, currency)] if bonus else []
        return [escrow(milestone), pending, fees(currency), *bonus_source]

    def build(accounts: Accounts, balances: Balances) -> Posting:
        escrow_account, pending, fee_account, *bonus_source = accounts
        held = _held(balances, escrow_account)
        if bonus_source and balances[bonus_source[0].pk] < bonus:
            raise insufficient("balance", balances[bonus_source[0].pk], bonus, currency)
        split = platform_fee_split(amount=held)
        return Posting(
            kind=TransactionKind.RELEASE,
            legs=[debit(escrow_account, held), credit(pending, split.share), credit(fee_account, split.fee)],
            memo=f"Payment for milestone {title(milestone)}: {format_money(held, currency)} "
            f"less platform fee {format_money(split.fee, currency)}",
            milestone_id=milestone.pk,
            contract_id=milestone.contract_id,
            user_id=freelancer.pk,
        )

    def after(release: LedgerTransaction, accounts: Accounts, balances: Balances) -> None:
        escrow_account, pending, fee_account, *bonus_source = accounts
        share = platform_fee_split(amount=balances[escrow_account.pk]).share
        lot_create(freelancer=freelancer, source=release, milestone=milestone, amount=share, currency=currency)
        if not bonus_source:
            return
        bonus_split = platform_fee_split(amount=bonus)
        bonus_paid = post(
            key=f"bonus:{milestone.pk}",
            fingerprint=params,
            posting=Posting(
                kind=TransactionKind.BONUS,
                legs=[
                    debit(bonus_source[0], bonus),
                    credit(pending, bonus_split.share),
                    credit(fee_account, bonus_split.fee),
                ],
                memo=f"Bonus for milestone {title(milestone)}: {format_money(bonus, currency)} "
                f"less platform fee {format_money(bonus_split.fee, currency)}",
                milestone_id=milestone.pk,
                contract_id=milestone.contract_id,
                user_id=freelancer.pk,
            ),
        )
        lot_create(
            freelancer=freelancer, source=bonus_paid, milestone=milestone, amount=bonus_split.share, currency=currency
        )

    return post_once(key=f"release:{milestone.pk}", fingerprint=params, accounts=accounts, build=build, after=after)


@money_atomic
def escrow_refund(*, milestone: EscrowSubject, client: User, amount: int | None = None) -> LedgerTransaction:
    """Escrow -> the client balance: all of it (amount None) or part. Key `refund:<milestone>`."""
    check_parties(milestone, client=client)
    if amount is not None and amount <= 0:
        raise PaymentError("The refund must be greater than zero.")
    params = fingerprint("refund", milestone=milestone.pk, client=client.pk, amount=amount)
    currency = milestone.currency

    def build(accounts: Accounts, balances: Balances) -> Posting:
        escrow_account, client_balance = accounts
        held = _held(balances, escrow_account)
        refund = held if amount is None else amount
        if refund > held:
            raise EscrowEmpty(
                f"Only {format_money(held, currency)} is held in escrow, so {format_money(refund, currency)} "
                "cannot be refunded."
            )
        return Posting(
            kind=TransactionKind.REFUND,
            legs=[debit(escrow_account, refund), credit(client_balance, refund)],
            memo=f"Refund from milestone {title(milestone)}",
            milestone_id=milestone.pk,
            contract_id=milestone.contract_id,
            user_id=client.pk,
        )

    return post_once(
        key=f"refund:{milestone.pk}",
        fingerprint=params,
        accounts=lambda: [escrow(milestone), user_account(AccountKind.CLIENT_BALANCE, client, currency)],
        build=build,
    )


@money_atomic
def escrow_split(
    *, milestone: EscrowSubject, client: User, freelancer: User, freelancer_amount: int
) -> LedgerTransaction:
    """One transaction: `freelancer_amount` to the freelancer (less the fee), the rest to the client.

    Key `split:<milestone>`. `freelancer_amount` may be anything from 0 to the whole escrow.
    """
    check_parties(milestone, client=client, freelancer=freelancer)
    if freelancer_amount < 0:
        raise PaymentError("The freelancer's part cannot be negative.")
    params = fingerprint(
        "split", milestone=milestone.pk, client=client.pk, freelancer=freelancer.pk, amount=freelancer_amount
    )
    currency = milestone.currency
    split = platform_fee_split(amount=freelancer_amount)

    def accounts() -> Refs:
        return [
            escrow(milestone),
            user_account(AccountKind.PENDING_EARNINGS, freelancer, currency),
            fees(currency),
            user_account(AccountKind.CLIENT_BALANCE, client, currency),
        ]

    def build(accounts: Accounts, balances: Balances) -> Posting:
        escrow_account, pending, fee_account, client_balance = accounts
        held = _held(balances, escrow_account)
        if freelancer_amount > held:
            raise EscrowEmpty(
                f"Only {format_money(held, currency)} is held in escrow, so the freelancer cannot receive "
                f"{format_money(freelancer_amount, currency)}."
            )
        back = held - freelancer_amount
        return Posting(
            kind=TransactionKind.SPLIT,
            legs=[
                debit(escrow_account, held),
                credit(pending, split.share),
                credit(fee_account, split.fee),
                credit(client_balance, back),
            ],
            memo=f"Split of milestone {title(milestone)}: {format_money(freelancer_amount, currency)} to the "
            f"freelancer (less fee {format_money(split.fee, currency)}), {format_money(back, currency)} to the client",
            milestone_id=milestone.pk,
            contract_id=milestone.contract_id,
            user_id=freelancer.pk,
        )

    def after(posted: LedgerTransaction, accounts: Accounts, balances: Balances) -> None:
        lot_create(freelancer=freelancer, source=posted, milestone=milestone, amount=split.share, currency=currency)

    return post_once(key=f"split:{milestone.pk}", fingerprint=params, accounts=accounts, build=build, after=after)


@money_atomic
def escrow_change(
    *, milestone: EscrowSubject, client: User, new_amount: int, change_number: int
) -> LedgerTransaction | None:
    """A change order on a funded milestone: move the difference between escrow and `new_amount`.

    Increase: client balance -> escrow; decrease: escrow -> client balance. Key
    `change:<milestone>:<n>`. Returns None when the escrow already holds `new_amount`.
    """
    check_parties(milestone, client=client)
    if new_amount <= 0:
        raise PaymentError("The new amount must be greater than zero.")
    params = fingerprint("change", milestone=milestone.pk, client=client.pk, new_amount=new_amount)
    currency = milestone.currency

    def build(accounts: Accounts, balances: Balances) -> Posting | None:
        escrow_account, client_balance = accounts
        held = balances[escrow_account.pk]
        if held <= 0:
            raise EscrowEmpty("This milestone holds nothing in escrow, so its amount cannot change this way.")
        difference = new_amount - held
        if difference == 0:
            return None
        if difference > 0 and balances[client_balance.pk] < difference:
            raise insufficient("balance", balances[client_balance.pk], difference, currency)
        legs = (
            [debit(client_balance, difference), credit(escrow_account, difference)]
            if difference > 0
            else [debit(escrow_account, -difference), credit(client_balance, -difference)]
        )
        return Posting(
            kind=TransactionKind.CHANGE,
            legs=legs,
            memo=f"Change order {change_number} on milestone {title(milestone)}: escrow "
            f"{format_money(held, currency)} → {format_money(new_amount, currency)}",
            milestone_id=milestone.pk,
            contract_id=milestone.contract_id,
            user_id=client.pk,
        )

    return post_once(
        key=f"change:{milestone.pk}:{change_number}",
        fingerprint=params,
        accounts=lambda: [escrow(milestone), user_account(AccountKind.CLIENT_BALANCE, client, currency)],
        build=build,
    )
