"""`cnnzoo draw`: the diagram is the built model's (units, shortcuts, unit order, branches), and it renders."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import torch.nn as nn
from PIL import Image

from cnnzoo.models import create_model, option_specs
from cnnzoo.models.googlenet import INCEPTION_TABLE
from cnnzoo.models.vgg import VGG_CFGS
from cnnzoo.visual.draw import diagram, render

# Identity Mappings, fig. 4 (a)-(e): what one unit (not the first of the net) applies, in order, at level "layers".
FIG4 = {
    "original": ["conv", "norm", "act", "conv", "norm", "add", "act"],
    "bn_after_add": ["conv", "norm", "act", "conv", "add", "norm", "act"],
    "relu_before_add": ["conv", "norm", "act", "conv", "norm", "act", "add"],
    "relu_only_preact": ["act", "conv", "norm", "act", "conv", "norm", "add"],
    "preact": ["norm", "act", "conv", "norm", "act", "conv", "add"],
}


RESIDUAL_UNITS = next(spec.choices for key, spec, _ in option_specs("resnet20") if key == "residual_unit")


def model_units(name: str, **options) -> tuple[int, int]:
    """(residual units, units whose shortcut holds a convolution), read from the model itself."""
    units = [m for m in create_model(name, **options).modules() if hasattr(m, "downsample")]
    projections = [
        u for u in units if u.downsample is not None and any(isinstance(m, nn.Conv2d) for m in u.downsample.modules())
    ]
    return len(units), len(projections)


@pytest.mark.parametrize(
    "name, options",
    [
        ("resnet20", {}),
        ("resnet20", {"shortcut": "B"}),
        ("resnet20", {"shortcut": "C"}),
        ("resnet50", {}),
        ("preact_resnet164", {}),
        ("course_resnet50_layer4", {}),
        ("course_resnet50_layer4", {"shortcut": "C"}),
    ],
)
def test_units_and_projections_are_the_models(name, options):
    drawn = diagram(name, **options)
    units, projections = model_units(name, **options)
    assert drawn.count("add") == units
    assert len(drawn.shortcuts("projection")) == projections
    assert len(drawn.shortcuts("identity")) + len(drawn.shortcuts("pad")) + projections == units


def test_option_a_pads_where_the_shape_changes_and_plain_nets_have_no_shortcut():
    drawn = diagram("resnet20")  # option A: stages 2 and 3 start with a zero-padded, subsampled identity
    assert [e.label for e in drawn.shortcuts("pad")] == ["pad to 32, /2", "pad to 64, /2"]
    assert len(drawn.shortcuts("identity")) == 7
    plain = diagram("plain20")
    assert plain.count("add") == 0 and not any(e.shortcut for e in plain.edges)
    assert plain.count("conv") == drawn.count("conv") == 19


def test_projection_edges_name_their_convolution():
    edges = diagram("resnet50").shortcuts("projection")
    assert [e.label for e in edges] == [
        "1×1 conv, 256",
        "1×1 conv, 512, /2",
        "1×1 conv, 1024, /2",
        "1×1 conv, 2048, /2",
    ]


def test_every_residual_unit_option_has_its_figure():
    assert sorted(RESIDUAL_UNITS) == sorted(FIG4)


@pytest.mark.parametrize("unit", sorted(FIG4))
def test_each_residual_unit_is_drawn_as_fig4_draws_it(unit):
    drawn = diagram("resnet20", "layers", module="layer1.1", residual_unit=unit)
    kinds = [n.kind for n in drawn.nodes if n.kind != "input"]
    assert kinds == FIG4[unit]
    assert [e.shortcut for e in drawn.edges if e.shortcut] == ["identity"]


def test_inception_module_has_four_branches_with_its_table_row():
    drawn = diagram("googlenet", module="inception3a")
    w = INCEPTION_TABLE["3a"]
    convs = sorted(n.label for n in drawn.nodes if n.kind == "conv")
    assert convs == sorted(
        [
            f"1×1 conv, {w.ch1x1}",
            f"1×1 conv, {w.ch3x3red}",
            f"3×3 conv, {w.ch3x3}",
            f"1×1 conv, {w.ch5x5red}",
            f"5×5 conv, {w.ch5x5}",
            f"1×1 conv, {w.pool_proj}",
        ]
    )
    assert drawn.count("concat") == 1 and drawn.count("pool") == 1
    concat = next(n for n in drawn.nodes if n.kind == "concat")
    assert sum(e.dst == concat.id for e in drawn.edges) == 4
    assert concat.shape == (w.out_channels, 28, 28)
    assert diagram("googlenet").count("concat") == len(INCEPTION_TABLE)


def test_vgg_stages_are_its_configuration():
    drawn = diagram("vgg16", "stages")
    blocks = [n.label for n in drawn.nodes if n.kind == "stage"]
    assert blocks == [f"[3×3 conv, {c}] ×{n}" for n, c in VGG_CFGS["D"]]


def test_resnet_stages_show_the_bracket_and_the_sizes():
    drawn = diagram("resnet18", "stages")
    stages = [n for n in drawn.nodes if n.kind == "stage"]
    assert stages[0].label == "conv2_x\n[3×3, 64; 3×3, 64] ×2"
    labels = {e.label for e in drawn.edges if e.src in {s.id for s in stages}}
    assert labels == {"56×56×64", "28×28×128", "14×14×256", "7×7×512"}


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, options",
    [
        ("alexnet", {}),
        ("vgg11_bn", {}),
        ("nin", {}),
        ("googlenet", {}),
        ("resnet50", {}),
        *[("resnet20", {"residual_unit": unit}) for unit in sorted(RESIDUAL_UNITS)],
    ],
)
def test_every_family_and_unit_renders_svg_and_png(tmp_path, name, options):
    drawn = diagram(name, **options)
    svg = render(drawn, tmp_path / "d.svg")
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = "".join(root.itertext())
    assert all(n.label.split("\n")[0] in texts for n in drawn.nodes if n.kind in ("conv", "fc"))
    with Image.open(render(drawn, tmp_path / "d.png")) as png:
        assert png.format == "PNG" and png.width > 100 and png.height > 100
