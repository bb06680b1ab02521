"""`make diagram`: the committed pictures are what the model draws, and each is
well-formed SVG with every node and flow of its picture."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from streamlines import diagram
from streamlines.cli import main
from templates_py.architecture import PICTURES

DOCS = Path(__file__).resolve().parents[2] / "docs"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("profile", sorted(PICTURES))
def test_the_committed_picture_is_the_one_the_model_draws(profile):
    committed = (DOCS / f"architecture-{profile}.svg").read_text(encoding="utf-8")
    assert committed == diagram.svg(PICTURES[profile]), "run make diagram"


@pytest.mark.parametrize("profile", sorted(PICTURES))
def test_each_node_and_flow_is_drawn_once(profile):
    picture = PICTURES[profile]
    root = ElementTree.fromstring(diagram.svg(picture))
    nodes = [g.get("id") for g in root.iter(f"{SVG}g") if g.get("class") == "node"]
    flows = [g for g in root.iter(f"{SVG}g") if g.get("class") == "flow"]
    assert sorted(nodes) == sorted(node.id for node in picture.nodes)
    assert len(flows) == len(picture.flows)
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "flowlabel"]
    assert sorted(labels) == sorted(flow.label for flow in picture.flows)


def test_the_readme_shows_lite_and_full():
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    assert "docs/architecture-lite.svg" in readme and "docs/architecture-full.svg" in readme


def test_make_diagram_writes_every_profile(tmp_path, capsys):
    assert main(["diagram", "--out", str(tmp_path / "pictures")]) == 0
    written = sorted(p.name for p in (tmp_path / "pictures").iterdir())
    assert written == sorted(f"architecture-{profile}.svg" for profile in PICTURES)
    assert capsys.readouterr().out.count("wrote ") == len(PICTURES)


def test_an_out_that_is_a_file_is_refused_in_one_sentence(tmp_path, capsys):
    target = tmp_path / "docs"
    target.write_text("not a folder")
    assert main(["diagram", "--out", str(target)]) == 2
    assert capsys.readouterr().err.strip() == f"streamlines: error: --out {target} is a file, not a folder."
    assert target.read_text() == "not a folder"
