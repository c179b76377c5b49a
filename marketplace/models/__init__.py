from marketplace.models.jobs import Job, JobEvent
from marketplace.models.proposals import Proposal, ProposalMilestone
from marketplace.models.users import User

__all__ = ["Job", "JobEvent", "Proposal", "ProposalMilestone", "User"]
