"""Every change to a milestone, one module per use case; each transition runs through `skeleton`.

- skeleton: lock, refuse a replayed form, check, fire, move money, save, audit, notify.
- terms: create, approve, decline, withdraw, cancel, change of terms, change orders.
- funding: fund one milestone or several at once.
- work: submit deliverables, request changes.
- payment: release, auto-release, refund, dividing the escrow (offers and dispute decisions, in disputes).
- timers: the beat sweeps (auto-release, review and due-date reminders).
"""

from milestones.services.funding import milestone_fund, milestone_fund_many
from milestones.services.payment import (
    milestone_auto_release,
    milestone_escrow_divide,
    milestone_refund,
    milestone_release,
)
from milestones.services.skeleton import (
    milestone_check_transition,
    milestone_event_record,
    milestone_lock,
    milestone_refuse_replay,
    milestone_transition,
)
from milestones.services.terms import (
    milestone_approve,
    milestone_cancel,
    milestone_change_order_apply,
    milestone_close_unfunded,
    milestone_create,
    milestone_decline,
    milestone_terms_apply,
    milestone_withdraw,
)
from milestones.services.timers import (
    milestone_auto_release_due,
    milestone_due_reminders_send,
    milestone_review_reminders_send,
)
from milestones.services.work import (
    MAX_FILES_PER_SUBMISSION,
    CheckedUpload,
    deliverable_display_name,
    milestone_request_changes,
    milestone_submit,
    upload_check,
)

__all__ = [
    "MAX_FILES_PER_SUBMISSION",
    "CheckedUpload",
    "deliverable_display_name",
    "milestone_approve",
    "milestone_auto_release",
    "milestone_auto_release_due",
    "milestone_cancel",
    "milestone_change_order_apply",
    "milestone_check_transition",
    "milestone_close_unfunded",
    "milestone_create",
    "milestone_decline",
    "milestone_due_reminders_send",
    "milestone_escrow_divide",
    "milestone_event_record",
    "milestone_fund",
    "milestone_fund_many",
    "milestone_lock",
    "milestone_refund",
    "milestone_refuse_replay",
    "milestone_release",
    "milestone_request_changes",
    "milestone_review_reminders_send",
    "milestone_submit",
    "milestone_terms_apply",
    "milestone_transition",
    "milestone_withdraw",
    "upload_check",
]
