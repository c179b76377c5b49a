"""Sections that apps above this one add to the milestone page, without this app importing them.

The disputes app sits on top of milestones: it registers a panel builder in its AppConfig.ready
(offers, the dispute case, the forms that post to its own URLs). The milestone view asks every
registered builder for its panel and the page includes each panel's template with its context.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from milestones.models import Milestone
from users.models import User


@dataclass(frozen=True)
class MilestonePanel:
    template: str
    context: Mapping[str, Any]


# (milestone, viewer) -> the panel to show this viewer, or None for nothing.
PanelBuilder = Callable[[Milestone, User], MilestonePanel | None]

_builders: list[PanelBuilder] = []


def milestone_panel_register(builder: PanelBuilder) -> None:
    """Add a builder once (ready() may run more than once in tests)."""
    if builder not in _builders:
        _builders.append(builder)


def milestone_panels(*, milestone: Milestone, viewer: User) -> list[MilestonePanel]:
    return [panel for builder in _builders if (panel := builder(milestone, viewer)) is not None]
