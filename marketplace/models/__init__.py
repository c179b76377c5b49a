from marketplace.models.jobs import Job, JobEvent
from marketplace.models.proposals import Proposal, ProposalMilestone

__all__ = ["Job", "JobEvent", "Proposal", "ProposalMilestone"]
