"""The architecture tables regenerated from the models equal the papers' tables, typed here as the reference."""

from __future__ import annotations

import json

import pytest
import torch

import cnnzoo
from cnnzoo.errors import CnnzooError
from cnnzoo.inspect.archtable import arch_tables, render_tables
from cnnzoo.inspect.counts import count_macs

# He et al. 2016, "Deep Residual Learning for Image Recognition", Table 1: layer name, output size, then the
# 18-, 34-, 50-, 101- and 152-layer columns.
POOL = "3×3 max pool, stride 2\n"
BASIC = "[3×3, {0}; 3×3, {0}] ×{1}"
BOTTLENECK = "[1×1, {0}; 3×3, {0}; 1×1, {2}] ×{1}"
RESNET_TABLE_1 = [
    ["conv1", "112×112"] + ["7×7, 64, stride 2"] * 5,
    [
        "conv2_x",
        "56×56",
        POOL + BASIC.format(64, 2),
        POOL + BASIC.format(64, 3),
        POOL + BOTTLENECK.format(64, 3, 256),
        POOL + BOTTLENECK.format(64, 3, 256),
        POOL + BOTTLENECK.format(64, 3, 256),
    ],
    [
        "conv3_x",
        "28×28",
        BASIC.format(128, 2),
        BASIC.format(128, 4),
        BOTTLENECK.format(128, 4, 512),
        BOTTLENECK.format(128, 4, 512),
        BOTTLENECK.format(128, 8, 512),
    ],
    [
        "conv4_x",
        "14×14",
        BASIC.format(256, 2),
        BASIC.format(256, 6),
        BOTTLENECK.format(256, 6, 1024),
        BOTTLENECK.format(256, 23, 1024),
        BOTTLENECK.format(256, 36, 1024),
    ],
    [
        "conv5_x",
        "7×7",
        BASIC.format(512, 2),
        BASIC.format(512, 3),
        BOTTLENECK.format(512, 3, 2048),
        BOTTLENECK.format(512, 3, 2048),
        BOTTLENECK.format(512, 3, 2048),
    ],
    ["", "1×1"] + ["average pool, 1000-d fc, softmax"] * 5,
]
RESNET_PAPER_FLOPS = [1.8, 3.6, 3.8, 7.6, 11.3]  # Table 1, last row, ×10^9
RESNETS = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]


@pytest.fixture(scope="module")
def resnet_table():
    (table,) = arch_tables(RESNETS)
    return table


@pytest.mark.slow
def test_resnet_table_is_the_papers_table_1_in_all_five_columns(resnet_table):
    assert resnet_table.columns == [
        "layer name",
        "output size",
        "18-layer",
        "34-layer",
        "50-layer",
        "101-layer",
        "152-layer",
    ]
    assert resnet_table.rows[: len(RESNET_TABLE_1)] == RESNET_TABLE_1


@pytest.mark.slow
def test_resnet_flops_row_with_the_papers_stride_placement(resnet_table):
    flops = resnet_table.row("FLOPs")[2:]
    paper_flops = resnet_table.row("FLOPs (paper)")[2:]
    assert [f.text for f in paper_flops] == [f"{f}×10^9" for f in RESNET_PAPER_FLOPS]
    assert paper_flops == [round(f * 1e9) for f in RESNET_PAPER_FLOPS]  # the numbers JSON gives
    for name, shown, paper in zip(RESNETS, flops, RESNET_PAPER_FLOPS):
        exact = float(shown.text.removesuffix("×10^9"))
        # The paper's one-decimal figures are within 0.07×10^9 of the exact multiply-adds; it truncates some
        # (3.66 → 3.6, 3.86 → 3.8) and rounds others (7.57 → 7.6), so no rounding rule matches all five.
        assert abs(exact - paper) < 0.07, name
        with torch.device("meta"):
            model = cnnzoo.create_model(name, stride_in_1x1=True)
        macs = count_macs(model, (3, 224, 224))
        assert shown == macs and shown.text == f"{macs / 1e9:.2f}×10^9"  # the FLOP counter agrees
    assert any("stride 2 on their conv1 (1×1)" in note for note in resnet_table.notes)


def test_torchvision_stride_placement_costs_more():
    (table,) = arch_tables(["resnet50"], {"stride_in_1x1": False})
    assert table.row("FLOPs")[2].text == "4.09×10^9"
    assert any("conv2 (3×3)" in note for note in table.notes)


@pytest.mark.parametrize("name, n", [("resnet20", 3), ("resnet56", 9), ("resnet110", 18)])
def test_cifar_resnets_are_the_papers_section_4_2_table(name, n):
    (table,) = arch_tables([name])
    # He et al. 2016, section 4.2: output map size 32×32 / 16×16 / 8×8, # layers 1+2n / 2n / 2n, # filters 16 / 32 / 64
    assert table.rows == [
        ["output map size", "32×32", "16×16", "8×8"],
        ["# layers", "1+2n", "2n", "2n"],
        ["# filters", 16, 32, 64],
    ]
    assert f"n = {n}, {6 * n + 2} weight layers" in table.notes[0]
    assert "option A" in table.notes[1]


# VGG-16, configuration D of Simonyan & Zisserman 2015, Table 1, with each layer's parameters
# (k·k·C_in·C_out + C_out); Table 2 gives 138 million in all.
C3 = "3×3"
VGG16_ROWS = [
    ["conv3-64", "224×224×3", "224×224×64", 1, C3, 3, 64, 1_792],
    ["conv3-64", "224×224×64", "224×224×64", 1, C3, 64, 64, 36_928],
    ["maxpool", "224×224×64", "112×112×64", 2, "2×2", 64, 64, 0],
    ["conv3-128", "112×112×64", "112×112×128", 1, C3, 64, 128, 73_856],
    ["conv3-128", "112×112×128", "112×112×128", 1, C3, 128, 128, 147_584],
    ["maxpool", "112×112×128", "56×56×128", 2, "2×2", 128, 128, 0],
    ["conv3-256", "56×56×128", "56×56×256", 1, C3, 128, 256, 295_168],
    ["conv3-256", "56×56×256", "56×56×256", 1, C3, 256, 256, 590_080],
    ["conv3-256", "56×56×256", "56×56×256", 1, C3, 256, 256, 590_080],
    ["maxpool", "56×56×256", "28×28×256", 2, "2×2", 256, 256, 0],
    ["conv3-512", "28×28×256", "28×28×512", 1, C3, 256, 512, 1_180_160],
    ["conv3-512", "28×28×512", "28×28×512", 1, C3, 512, 512, 2_359_808],
    ["conv3-512", "28×28×512", "28×28×512", 1, C3, 512, 512, 2_359_808],
    ["maxpool", "28×28×512", "14×14×512", 2, "2×2", 512, 512, 0],
    ["conv3-512", "14×14×512", "14×14×512", 1, C3, 512, 512, 2_359_808],
    ["conv3-512", "14×14×512", "14×14×512", 1, C3, 512, 512, 2_359_808],
    ["conv3-512", "14×14×512", "14×14×512", 1, C3, 512, 512, 2_359_808],
    ["maxpool", "14×14×512", "7×7×512", 2, "2×2", 512, 512, 0],
    ["FC-4096", "25088", "4096", None, "", 25_088, 4_096, 102_764_544],
    ["FC-4096", "4096", "4096", None, "", 4_096, 4_096, 16_781_312],
    ["FC-1000", "4096", "1000", None, "", 4_096, 1_000, 4_097_000],
]


def test_vgg16_table_every_row_and_the_total():
    (table,) = arch_tables(["vgg16"])
    assert table.columns == ["layer", "module", "input", "output", "stride", "kernel", "in", "out", "parameters"]
    rows = [[r[0], *r[2:]] for r in table.rows]
    assert rows[:-1] == VGG16_ROWS
    assert rows[-1][0] == "total" and rows[-1][-1] == 138_357_544 == sum(r[-1] for r in VGG16_ROWS)
    assert "equals the model's parameter count, 138,357,544" in table.notes[0]


# Szegedy et al. 2015, "Going deeper with convolutions", Table 1: type, patch size/stride, output size, depth,
# #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj, params, ops.
_ = None
GOOGLENET_TABLE_1 = [
    ("convolution", "7×7/2", "112×112×64", 1, _, _, _, _, _, _, "2.7K", "34M"),
    ("max pool", "3×3/2", "56×56×64", 0, _, _, _, _, _, _, _, _),
    ("convolution", "3×3/1", "56×56×192", 2, _, 64, 192, _, _, _, "112K", "360M"),
    ("max pool", "3×3/2", "28×28×192", 0, _, _, _, _, _, _, _, _),
    ("inception (3a)", "", "28×28×256", 2, 64, 96, 128, 16, 32, 32, "159K", "128M"),
    ("inception (3b)", "", "28×28×480", 2, 128, 128, 192, 32, 96, 64, "380K", "304M"),
    ("max pool", "3×3/2", "14×14×480", 0, _, _, _, _, _, _, _, _),
    ("inception (4a)", "", "14×14×512", 2, 192, 96, 208, 16, 48, 64, "364K", "73M"),
    ("inception (4b)", "", "14×14×512", 2, 160, 112, 224, 24, 64, 64, "437K", "88M"),
    ("inception (4c)", "", "14×14×512", 2, 128, 128, 256, 24, 64, 64, "463K", "100M"),
    ("inception (4d)", "", "14×14×528", 2, 112, 144, 288, 32, 64, 64, "580K", "119M"),
    ("inception (4e)", "", "14×14×832", 2, 256, 160, 320, 32, 128, 128, "840K", "170M"),
    ("max pool", "3×3/2", "7×7×832", 0, _, _, _, _, _, _, _, _),
    ("inception (5a)", "", "7×7×832", 2, 256, 160, 320, 32, 128, 128, "1072K", "54M"),
    ("inception (5b)", "", "7×7×1024", 2, 384, 192, 384, 48, 128, 128, "1388K", "71M"),
    ("avg pool", "7×7/1", "1×1×1024", 0, _, _, _, _, _, _, _, _),
    ("dropout (40%)", "", "1×1×1024", 0, _, _, _, _, _, _, _, _),
    ("linear", "", "1×1×1000", 1, _, _, _, _, _, _, "1000K", "1M"),
    ("softmax", "", "1×1×1000", 0, _, _, _, _, _, _, _, _),
]


@pytest.fixture(scope="module")
def googlenet_table():
    (table,) = arch_tables(["googlenet"])
    return table


def test_googlenet_rows_are_the_papers_table_1(googlenet_table):
    rows = googlenet_table.rows[:-1]
    assert [tuple(r[:10]) for r in rows] == [ref[:10] for ref in GOOGLENET_TABLE_1]
    assert [tuple(getattr(x, "text", x) for x in r[12:]) for r in rows] == [ref[10:12] for ref in GOOGLENET_TABLE_1]
    assert rows[0][12:] == [2_700, 34_000_000]  # the paper's 2.7K and 34M as the numbers JSON gives


def test_googlenet_inception_costs_are_exact_and_near_the_papers(googlenet_table):
    rows = googlenet_table.rows
    for previous, row, ref in zip(rows, rows[1:], GOOGLENET_TABLE_1[1:]):
        if not row[0].startswith("inception"):
            continue
        c_in = int(previous[2].split("×")[-1])  # the module's input is the previous row's output
        w1, r3, w3, r5, w5, proj = row[4:10]
        weights = c_in * (w1 + r3 + r5 + proj) + 9 * r3 * w3 + 25 * r5 * w5
        assert row[10] == weights + (w1 + r3 + w3 + r5 + w5 + proj)  # params: weights and one bias per filter
        side = int(row[2].split("×")[0])
        assert row[11] == weights * side * side  # ops: one multiply-add per weight per output position
        if row[0] == "inception (5a)":
            # The paper prints 54M, but its own widths on a 7×7×832 input give 51.1M (1,042,432 weights × 49).
            assert round(row[11] / 1e6, 1) == 51.1
        else:
            assert abs(row[11] / 1e6 - int(ref[11].removesuffix("M"))) < 1, row[0]


def test_googlenet_total_is_exact_and_the_papers_column_sums_to_6_8_million(googlenet_table):
    total = googlenet_table.rows[-1]
    assert total[0] == "total" and total[3] == 22  # "22 layers deep when counting only layers with parameters"
    assert total[10] == 6_998_552
    with torch.device("meta"):
        model = cnnzoo.create_model("googlenet", aux_logits=False)
    assert total[10] == sum(p.numel() for p in model.parameters())
    paper_k = [float(ref[10].removesuffix("K")) for ref in GOOGLENET_TABLE_1 if ref[10]]
    assert round(sum(paper_k) / 1000, 1) == 6.8 and total[12].text == "6.8M" and total[12] == 6_800_000


def test_other_models_get_a_layer_table_whose_total_is_the_parameter_count():
    tables = arch_tables(["alexnet", "nin"])
    assert [t.title for t in tables] == ["alexnet: layer by layer", "nin: layer by layer"]
    for table, name in zip(tables, ["alexnet", "nin"]):
        with torch.device("meta"):
            model = cnnzoo.create_model(name)
        assert table.rows[-1][-1] == sum(p.numel() for p in model.parameters())


def test_formats():
    tables = arch_tables(["resnet20", "resnet18"])
    data = json.loads(render_tables(tables, "json"))
    assert [t["title"] for t in data] == [
        "resnet20 (He et al. 2016, section 4.2)",
        "ResNet architectures (He et al. 2016, Table 1)",
    ]
    assert data[1]["rows"][0] == {"layer_name": "conv1", "output_size": "112×112", "resnet18": "7×7, 64, stride 2"}
    assert data[1]["columns"] == {"layer_name": "layer name", "output_size": "output size", "resnet18": "18-layer"}
    flops = next(row for row in data[1]["rows"] if row["layer_name"] == "FLOPs")
    assert flops["resnet18"] > 10**9 and isinstance(flops["resnet18"], int)  # a number, not "1.82×10^9"
    markdown = render_tables(tables, "markdown")
    assert "3×3 max pool, stride 2<br>[3×3, 64; 3×3, 64] ×2" in markdown
    assert render_tables(tables, "csv").splitlines()[0] == ",stage 1,stage 2,stage 3"
    assert "┃ layer name" in render_tables(tables, "table")


def test_bad_names_and_options_are_errors():
    with pytest.raises(CnnzooError, match="unknown model 'resnet19'"):
        arch_tables(["resnet19"])
    with pytest.raises(CnnzooError, match="at least one"):
        arch_tables([])
    with pytest.raises(CnnzooError, match="no option 'widht'"):
        arch_tables(["vgg16"], {"widht": 2})


@pytest.mark.parametrize("name", ["course_resnet18", "course_resnet50_layer4"])
def test_course_networks_are_titled_as_the_courses_not_the_papers(name):
    """They are laid out like the paper's tables, but a reader must not take them for the paper's networks."""
    from cnnzoo.inspect.archtable import arch_tables

    (table,) = arch_tables([name])
    assert table.title.startswith(f"{name} (the course's network, in the layout of He et al. 2016")


def test_googlenet_at_another_size_leaves_the_papers_ops_out_and_says_why():
    """The paper's ops are for 224x224: beside 32x32 counts, 34M would read as a 17-fold error."""
    (table,) = arch_tables(["googlenet"], {}, (3, 32, 32))
    params_paper, ops_paper = (table.columns.index(c) for c in ("params (paper)", "ops (paper)"))
    assert all(row[ops_paper] is None for row in table.rows)
    assert getattr(table.rows[0][params_paper], "text", None) == "2.7K"  # parameters do not depend on the size
    assert any("the paper's ops are for 224×224 inputs, this table's for 32×32" in note for note in table.notes)
