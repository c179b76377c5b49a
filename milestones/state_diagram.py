"""The milestone state machine as an inline SVG, generated from the transitions declared on the model.

Nothing here is drawn by hand: states come from the FSM field's choices, arrows from
`get_all_transitions`, and the layout is a small layered layout (longest path from the
initial state, back edges routed underneath), so a new transition appears by itself.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from html import escape

from django.utils.safestring import SafeString, mark_safe

from milestones.models import Milestone

NODE_W, NODE_H = 112, 36
COL_W, ROW_H = 196, 170
PAD_X, PAD_Y = 16, 16


@dataclass(frozen=True)
class Arrow:
    source: str
    target: str
    names: tuple[str, ...]


@dataclass
class StateGraph:
    states: list[tuple[str, str]]  # (value, label), in declaration order
    initial: str
    arrows: list[Arrow]
    layer: dict[str, int] = field(default_factory=dict)
    row: dict[str, int] = field(default_factory=dict)
    back: set[tuple[str, str]] = field(default_factory=set)


def _declared_targets(target: object) -> tuple[str, ...]:
    # RETURN_VALUE / GET_STATE declare the states a transition may end in.
    allowed = getattr(target, "allowed_states", None)
    if allowed is not None:
        return tuple(str(state) for state in allowed)
    return (str(target),)


@cache
def milestone_state_graph() -> StateGraph:
    state_field = Milestone._meta.get_field("state")
    states = [(str(value), str(label)) for value, label in state_field.choices]
    names_by_edge: dict[tuple[str, str], list[str]] = defaultdict(list)
    # django-fsm lists transitions alphabetically; the class body's order is the story's order.
    declared = list(vars(Milestone))
    transitions = sorted(state_field.get_all_transitions(Milestone), key=lambda t: declared.index(t.name))
    for transition in transitions:
        sources = [value for value, _ in states] if transition.source in ("*", "+") else [str(transition.source)]
        for source in sources:
            for target in _declared_targets(transition.target):
                if target != source and transition.name not in names_by_edge[(source, target)]:
                    names_by_edge[(source, target)].append(transition.name)
    graph = StateGraph(
        states=states,
        initial=str(state_field.default),
        arrows=[Arrow(source, target, tuple(names)) for (source, target), names in names_by_edge.items()],
    )
    _layout(graph)
    return graph


def _layout(graph: StateGraph) -> None:
    order = {value: index for index, (value, _) in enumerate(graph.states)}
    outgoing: dict[str, list[str]] = defaultdict(list)
    for arrow in graph.arrows:
        outgoing[arrow.source].append(arrow.target)

    # Back edges: those closing a cycle in a depth-first walk from the initial state.
    visiting: set[str] = set()
    done: set[str] = set()

    def walk(state: str) -> None:
        visiting.add(state)
        for target in outgoing[state]:
            if target in visiting:
                graph.back.add((state, target))
            elif target not in done:
                walk(target)
        visiting.discard(state)
        done.add(state)

    walk(graph.initial)
    for value, _ in graph.states:
        if value not in done:
            walk(value)

    # Layers: the longest forward path from the initial state.
    forward = [(a.source, a.target) for a in graph.arrows if (a.source, a.target) not in graph.back]
    graph.layer = {value: 0 for value, _ in graph.states}
    for _ in graph.states:
        for source, target in forward:
            graph.layer[target] = max(graph.layer[target], graph.layer[source] + 1)

    # Rows: each state sits at its first predecessor's row; states sharing a layer fan out
    # below it (+1, +2...), so the happy path reads along one straight line.
    predecessors: dict[str, list[str]] = defaultdict(list)
    for source, target in forward:
        predecessors[target].append(source)
    for layer in sorted(set(graph.layer.values())):
        taken: set[int] = set()
        members = sorted((s for s in graph.layer if graph.layer[s] == layer), key=order.__getitem__)
        for state in members:
            preferred = graph.row.get(predecessors[state][0], 0) if predecessors[state] else 0
            row = preferred
            while row in taken:
                row += 1
            graph.row[state] = row
            taken.add(row)


def _centre(graph: StateGraph, state: str) -> tuple[float, float]:
    return (
        PAD_X + graph.layer[state] * COL_W + NODE_W / 2,
        PAD_Y + (graph.row[state] - min(graph.row.values())) * ROW_H + NODE_H / 2,
    )


def _rounded(points: list[tuple[float, float]], radius: float = 10) -> str:
    """An orthogonal polyline with rounded corners, as SVG path data."""
    data = [f"M{points[0][0]:.1f},{points[0][1]:.1f}"]
    for previous, corner, following in zip(points, points[1:], points[2:], strict=False):

        def towards(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
            length = max(abs(b[0] - a[0]), abs(b[1] - a[1])) or 1
            step = min(radius, length / 2)
            return a[0] + (b[0] - a[0]) / length * step, a[1] + (b[1] - a[1]) / length * step

        before, after = towards(corner, previous), towards(corner, following)
        data.append(f"L{before[0]:.1f},{before[1]:.1f} Q{corner[0]:.1f},{corner[1]:.1f} {after[0]:.1f},{after[1]:.1f}")
    data.append(f"L{points[-1][0]:.1f},{points[-1][1]:.1f}")
    return " ".join(data)


@dataclass(frozen=True)
class _Route:
    path: str
    label_x: float
    label_y: float
    extent_y: float  # the furthest the route reaches up or down, for the picture's height


def _route(graph: StateGraph, arrow: Arrow, lane: int, lane_count: int) -> _Route:
    """Neighbouring columns: a gentle curve. Longer or backward arrows run in lanes around the row."""
    (x0, y0), (x1, y1) = _centre(graph, arrow.source), _centre(graph, arrow.target)
    span = graph.layer[arrow.target] - graph.layer[arrow.source]
    is_back = (arrow.source, arrow.target) in graph.back
    half_w, half_h = NODE_W / 2, NODE_H / 2
    if not is_back and span == 1:
        start, end = (x0 + half_w, y0), (x1 - half_w, y1)
        bend = (end[0] - start[0]) / 2
        path = f"M{start[0]},{start[1]} C{start[0] + bend},{start[1]} {end[0] - bend},{end[1]} {end[0]},{end[1]}"
        if y0 == y1:
            return _Route(path, (start[0] + end[0]) / 2, y0 - 6, y0)
        # A diagonal: the label sits beside the curve's middle, clear of the straight arrows.
        return _Route(path, (start[0] + end[0]) / 2 + (24 if y1 > y0 else -24), (y0 + y1) / 2 + 4, y0)
    if not is_back and y1 > y0:
        # Down to a lower row: from the bottom into the channel above that row, then in from the top.
        channel_y = y1 - half_h - 22 - 14 * lane
        source_x = x0 + half_w * 0.6
        target_x = x1 - half_w * 0.6 + 20 * lane
        points = [(source_x, y0 + half_h), (source_x, channel_y), (target_x, channel_y), (target_x, y1 - half_h)]
        return _Route(_rounded(points), (source_x + target_x) / 2, channel_y - 5, channel_y)
    # Skipping columns along a row goes over the top; backward arrows go underneath.
    sign = -1 if not is_back else 1
    inset = max(half_w * 0.5 - 18 * lane, -half_w * 0.4)
    source_x = x0 + inset if not is_back else x0 - inset
    target_x = x1 - inset if not is_back else x1 + inset
    edge_y = (min(y0, y1) - half_h) if not is_back else (max(y0, y1) + half_h)
    lane_y = edge_y + sign * (22 + 22 * lane)
    points = [(source_x, y0 + sign * half_h), (source_x, lane_y), (target_x, lane_y), (target_x, y1 + sign * half_h)]
    return _Route(_rounded(points), (source_x + target_x) / 2, lane_y - 5 if not is_back else lane_y + 14, lane_y)


def state_diagram_svg(*, current_state: str) -> SafeString:
    """Inline SVG of the state machine with `current_state` highlighted and its exits emphasised."""
    graph = milestone_state_graph()
    labels = dict(graph.states)

    # Arrows sharing a kind of lane are stacked so neither lines nor labels collide.
    kinds: dict[str, list[Arrow]] = defaultdict(list)
    for arrow in graph.arrows:
        span = graph.layer[arrow.target] - graph.layer[arrow.source]
        is_back = (arrow.source, arrow.target) in graph.back
        if is_back:
            kinds["under"].append(arrow)
        elif span > 1 and graph.row[arrow.target] > graph.row[arrow.source]:
            kinds[f"down:{arrow.target}"].append(arrow)
        elif span > 1:
            kinds["over"].append(arrow)
    lane_of: dict[tuple[str, str], tuple[int, int]] = {}
    for kind, arrows in kinds.items():
        # Over and under: short arcs hug the row. Down: the longest run is nearest the target row.
        descending = -1 if kind.startswith("down:") else 1
        arrows.sort(key=lambda a: (descending * abs(graph.layer[a.target] - graph.layer[a.source]), a.source))
        for index, arrow in enumerate(arrows):
            lane_of[(arrow.source, arrow.target)] = (index, len(arrows))
    routes = {(a.source, a.target): _route(graph, a, *lane_of.get((a.source, a.target), (0, 1))) for a in graph.arrows}
    top = min([r.extent_y for r in routes.values()] + [PAD_Y]) - 24
    bottom = max([r.extent_y for r in routes.values()] + [_centre(graph, s)[1] + NODE_H for s in graph.row]) + 24
    width = PAD_X * 2 + max(graph.layer.values()) * COL_W + NODE_W

    description = "; ".join(
        f"{' or '.join(n.replace('_', ' ') for n in a.names)}: {labels[a.source]} to {labels[a.target]}"
        for a in graph.arrows
    )
    parts = [
        f'<svg class="state-diagram" viewBox="0 {top:.0f} {width:.0f} {bottom - top:.0f}" role="img" '
        f'aria-labelledby="state-diagram-title state-diagram-desc" xmlns="http://www.w3.org/2000/svg">',
        '<title id="state-diagram-title">Milestone states; this milestone is '
        f"{escape(labels.get(current_state, current_state))}</title>",
        f'<desc id="state-diagram-desc">Transitions: {escape(description)}.</desc>',
        '<defs><marker id="state-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9" '
        'markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>',
    ]
    for arrow in graph.arrows:
        route = routes[(arrow.source, arrow.target)]
        css = "sd-edge sd-edge-next" if arrow.source == current_state else "sd-edge"
        text = " · ".join(name.replace("_", " ") for name in arrow.names)
        parts.append(
            f'<g class="{css}"><path d="{route.path}" marker-end="url(#state-arrow)"/>'
            f'<text x="{route.label_x:.1f}" y="{route.label_y:.1f}" text-anchor="middle">{escape(text)}</text></g>'
        )
    for value, label in graph.states:
        x, y = _centre(graph, value)
        current = value == current_state
        css = f"sd-node sd-node-{value}" + (" sd-node-current" if current else "")
        suffix = " (current)" if current else ""
        parts.append(
            f'<g class="{css}"><rect x="{x - NODE_W / 2:.1f}" y="{y - NODE_H / 2:.1f}" width="{NODE_W}" '
            f'height="{NODE_H}" rx="18"/><text x="{x:.1f}" y="{y + 5:.1f}" text-anchor="middle">'
            f"{escape(label)}</text>"
            f"<title>{escape(label)}{suffix}</title></g>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above
