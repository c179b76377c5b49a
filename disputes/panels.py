"""The disputes app's section of the milestone page: offers, the dispute case, and the forms for both.

Registered with `milestones.panels` in `DisputesConfig.ready`; the forms post to this app's URLs.
"""

from django.utils import timezone
from django_fsm import has_transition_perm

from disputes.forms import ConfirmForm, NoteForm, OfferForm
from disputes.selectors import milestone_offers, offer_view
from milestones.models import Milestone
from milestones.panels import MilestonePanel
from users.models import User

# The latest offers the milestone page lists; the dispute page shows them all.
OFFERS_SHOWN = 5


def milestone_offers_panel(milestone: Milestone, viewer: User) -> MilestonePanel | None:
    """For the two parties: the open offer with its answers, a form for a new one, the case or a way to open one."""
    if not milestone.contract.is_party(viewer):
        return None
    now = timezone.now()
    offers = [
        offer_view(offer=o, viewer=viewer, milestone=milestone, now=now)
        for o in milestone_offers(milestone=milestone)[:OFFERS_SHOWN]
    ]
    cases = list(milestone.dispute_cases.order_by("-opened_at", "-pk"))
    open_case = next((case for case in cases if case.is_open), None)
    open_offer = next((o for o in offers if o.offer.is_open and milestone.holds_escrow), None)
    can_open_dispute = has_transition_perm(milestone.open_dispute, viewer)
    if not (offers or cases or milestone.holds_escrow):
        return None
    return MilestonePanel(
        template="disputes/_milestone_panel.html",
        context={
            "milestone": milestone,
            "viewer_is_client": viewer.pk == milestone.contract.client_id,
            "offers": offers,
            "open_offer": open_offer,
            "offer_form": OfferForm(milestone=milestone, prefix="offer")
            if milestone.holds_escrow and open_offer is None
            else None,
            "answer_forms": {
                "accept": ConfirmForm(milestone=milestone, prefix="accept"),
                "decline": NoteForm(milestone=milestone, prefix="decline"),
                "counter": OfferForm(milestone=milestone, prefix="counter"),
                "withdraw": ConfirmForm(milestone=milestone, prefix="withdraw"),
            },
            "cases": cases,
            "open_case": open_case,
            "can_open_dispute": can_open_dispute,
        },
    )
