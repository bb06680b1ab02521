"""`make diagram` (`streamlines diagram`): the architecture of each profile as SVG,
drawn from templates_py.architecture (services, functions, streams, load
balancers, the flows between them, and which subnets each sits in).

Plain SVG written here, so it needs no Graphviz and renders the same bytes every
time (docs/architecture-<profile>.svg are committed; a test holds them to this)."""

from __future__ import annotations

from html import escape
from pathlib import Path

from templates_py.architecture import PICTURES, ZONES, Node, Picture

BOX_WIDTH, BOX_HEIGHT = 200, 46
COLUMN, ROW, MARGIN, TOP = 290, 78, 30, 92
FILL = {
    "outside": "#f2f2f2",
    "balancer": "#e3ecfa",
    "service": "#fde9d4",
    "function": "#fbe0ef",
    "stream": "#e4f4e6",
    "api": "#ece4f8",
    "storage": "#fff5cc",
}
KIND_NAMES = {
    "outside": "outside AWS",
    "balancer": "load balancer",
    "service": "ECS service",
    "function": "Lambda",
    "stream": "Kinesis stream",
    "api": "API Gateway",
    "storage": "storage",
}


# A zone with more nodes than this is drawn in two columns (the first half left).
ONE_COLUMN_AT_MOST = 5


def _positions(picture: Picture) -> tuple[list[tuple[str, int]], dict[str, tuple[float, float]]]:
    """Zones drawn (in ZONES order) with their column counts, and each node's top-left corner."""
    zones = []
    placed: dict[str, tuple[float, float]] = {}
    column = 0
    for zone in ZONES:
        members = [node for node in picture.nodes if node.zone == zone]
        if not members:
            continue
        columns = 1 if len(members) <= ONE_COLUMN_AT_MOST else 2
        per_column = -(-len(members) // columns)
        for index, node in enumerate(members):
            placed[node.id] = (
                MARGIN + 20 + (column + index // per_column) * COLUMN,
                TOP + 40 + (index % per_column) * ROW,
            )
        zones.append((zone, columns))
        column += columns
    return zones, placed


def _box(node: Node, x: float, y: float) -> str:
    dash = ' stroke-dasharray="5 3"' if node.stack else ""
    words = escape(node.label)
    kind = escape(KIND_NAMES[node.kind])
    return (
        f'<g class="node" id="{escape(node.id)}"><rect x="{x}" y="{y}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" '
        f'rx="7" fill="{FILL[node.kind]}" stroke="#555"{dash}/>'
        f'<text x="{x + BOX_WIDTH / 2}" y="{y + 20}" class="label">{words}</text>'
        f'<text x="{x + BOX_WIDTH / 2}" y="{y + 36}" class="kind">{kind}</text></g>'
    )


def _edge(start: tuple[float, float], end: tuple[float, float], label: str) -> tuple[str, str]:
    (x1, y1), (x2, y2) = start, end
    if x1 == x2:  # same column: bow out to the right, further the further apart
        right, bow = x1 + BOX_WIDTH, 30 + 0.45 * abs(y2 - y1)
        path = (
            f"M{right},{y1 + BOX_HEIGHT / 2} C{right + bow},{y1 + BOX_HEIGHT / 2} {right + bow},{y2 + BOX_HEIGHT / 2} "
        )
        path += f"{right + 4},{y2 + BOX_HEIGHT / 2}"
        middle = (right + 0.75 * bow, (y1 + y2) / 2 + BOX_HEIGHT / 2 + 4)
    else:
        forward = x2 > x1
        sx = x1 + BOX_WIDTH if forward else x1
        ex = x2 - 4 if forward else x2 + BOX_WIDTH + 4
        sy, ey = y1 + BOX_HEIGHT / 2, y2 + BOX_HEIGHT / 2
        bend = (ex - sx) / 2
        path = f"M{sx},{sy} C{sx + bend},{sy} {ex - bend},{ey} {ex},{ey}"
        # Labels of backward flows sit nearer their target, off the forward ones' middles.
        t = 0.5 if forward else 0.78
        x = (1 - t) ** 3 * sx + 3 * (1 - t) ** 2 * t * (sx + bend) + 3 * (1 - t) * t**2 * (ex - bend) + t**3 * ex
        y = ((1 - t) ** 3 + 3 * (1 - t) ** 2 * t) * sy + (3 * (1 - t) * t**2 + t**3) * ey
        middle = (round(x, 1), round(y - 4, 1))
    return f'<g class="flow"><path d="{path}" marker-end="url(#arrow)"/>', _label(middle, label)


def _label(middle: tuple[float, float], label: str) -> str:
    """A flow's label on a white ground, drawn above every line."""
    x, y = middle
    width = 6 * len(label) + 8
    return (
        f'<rect x="{x - width / 2}" y="{y - 10}" width="{width}" height="14" rx="3" fill="#fff" opacity="0.9"/>'
        f'<text x="{x}" y="{y}" class="flowlabel">{escape(label)}</text>'
    )


def svg(picture: Picture) -> str:
    zones, placed = _positions(picture)
    rows = max(-(-len([n for n in picture.nodes if n.zone == zone]) // columns) for zone, columns in zones)
    width = MARGIN * 2 + sum(columns for _, columns in zones) * COLUMN - (COLUMN - BOX_WIDTH - 40) + 60
    zone_height = 60 + rows * ROW
    height = TOP + zone_height + 80
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="Helvetica, Arial, sans-serif">',
        "<style>.label{font-size:13px;text-anchor:middle;fill:#222}.kind{font-size:10px;text-anchor:middle;"
        "fill:#666}.zone{font-size:13px;font-weight:bold;fill:#444}.flow path{fill:none;stroke:#4a6fa5;"
        "stroke-width:1.4}.flowlabel{font-size:10px;text-anchor:middle;fill:#234}.title{font-size:17px;font-weight:bold}.note{font-size:11px;fill:#555}</style>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#4a6fa5"/></marker></defs>',
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        f'<text x="{MARGIN}" y="34" class="title">{escape(picture.title)}</text>',
        f'<text x="{MARGIN}" y="56" class="note">Drawn by make diagram from templates_py/architecture.py; '
        "dashed: in another stack.</text>",
    ]
    column = 0
    for zone, columns in zones:
        x = MARGIN + column * COLUMN
        column += columns
        parts.append(
            f'<rect x="{x}" y="{TOP}" width="{BOX_WIDTH + 40 + (columns - 1) * COLUMN}" height="{zone_height}" rx="10" '
            f'fill="{"#f7f9fc" if zone != "internet" else "#fafafa"}" stroke="#c9d3e0"/>'
            f'<text x="{x + 12}" y="{TOP + 22}" class="zone">{escape(ZONES[zone])}</text>'
        )
    edges = [_edge(placed[flow.source], placed[flow.target], flow.label) for flow in picture.flows]
    parts += [line + "</g>" for line, _ in edges]
    parts += [_box(node, *placed[node.id]) for node in picture.nodes]
    parts += [label for _, label in edges]
    legend_y = TOP + zone_height + 30
    x = MARGIN
    for kind, name in KIND_NAMES.items():
        parts.append(
            f'<rect x="{x}" y="{legend_y - 11}" width="14" height="14" rx="3" fill="{FILL[kind]}" stroke="#555"/>'
            f'<text x="{x + 20}" y="{legend_y}" class="note">{escape(name)}</text>'
        )
        x += 30 + 7 * len(name)
    if picture.note:
        parts.append(f'<text x="{MARGIN}" y="{legend_y + 28}" class="note">{escape(picture.note)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write(folder: Path) -> list[Path]:
    """Every profile's picture as <folder>/architecture-<profile>.svg, all or nothing."""
    rendered = {folder / f"architecture-{profile}.svg": svg(picture) for profile, picture in PICTURES.items()}
    folder.mkdir(parents=True, exist_ok=True)
    for path, text in rendered.items():
        path.write_text(text, encoding="utf-8")
    return list(rendered)
