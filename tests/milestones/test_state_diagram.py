"""The state machine picture is generated from the declared transitions, with the current state highlighted."""

import re

import pytest

from milestones.models import Milestone, MilestoneState
from milestones.state_diagram import milestone_state_graph, state_diagram_svg


def _declared_edges() -> set[tuple[str, str]]:
    edges = set()
    for transition in Milestone._meta.get_field("state").get_all_transitions(Milestone):
        targets = getattr(transition.target, "allowed_states", None) or [transition.target]
        edges |= {(str(transition.source), str(target)) for target in targets}
    return edges


def test_every_declared_transition_is_an_arrow_and_nothing_else_is():
    graph = milestone_state_graph()
    drawn = {(arrow.source, arrow.target) for arrow in graph.arrows}
    assert drawn == _declared_edges()
    names = {name for arrow in graph.arrows for name in arrow.names}
    assert names == {t.name for t in Milestone._meta.get_field("state").get_all_transitions(Milestone)}


def test_the_happy_path_reads_left_to_right_on_one_row():
    graph = milestone_state_graph()
    path = [MilestoneState.PROPOSED, MilestoneState.APPROVED, MilestoneState.FUNDED, MilestoneState.SUBMITTED]
    assert [graph.layer[s] for s in path] == [0, 1, 2, 3]
    assert {graph.row[s] for s in path} == {0}
    assert (MilestoneState.SUBMITTED, MilestoneState.FUNDED) in graph.back


@pytest.mark.parametrize("state", MilestoneState.values)
def test_exactly_the_current_state_is_highlighted_with_its_exits(state):
    svg = str(state_diagram_svg(current_state=state))
    assert re.findall(r'class="sd-node sd-node-(\w+) sd-node-current"', svg) == [state]
    exits = {target for source, target in _declared_edges() if source == state}
    assert svg.count('class="sd-edge sd-edge-next"') == len(exits)
    # Accessible: a title naming the current state, a description listing every transition, text labels
    label = MilestoneState(state).label
    assert f"this milestone is {label}</title>" in svg
    assert "request changes: Submitted to Funded" in svg
    for _, state_label in MilestoneState.choices:
        assert f">{state_label}</text>" in svg
