from marketplace.models.jobs import Job
from marketplace.models.proposals import Proposal, ProposalMilestone
from marketplace.models.users import User

__all__ = ["Job", "Proposal", "ProposalMilestone", "User"]
