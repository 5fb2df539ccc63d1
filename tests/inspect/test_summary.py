"""The layer summary: its numbers equal torchinfo's for every registered model, and it works where torchinfo is used.

torchinfo (1.8, a test dependency) is the reference; the summary is our own hook-based implementation. Models
are built on the meta device, where shapes and counts come out without arithmetic; one test shows a real CPU
pass gives the same rows.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
import torch
import torch.nn as nn
import torchinfo

import cnnzoo
from cnnzoo.errors import CnnzooError
from cnnzoo.inspect.summary import COLUMNS, summary


def _meta_model(name: str, **options) -> nn.Module:
    with torch.device("meta"):
        return cnnzoo.create_model(name, **options)


def _torchinfo(model: nn.Module, size, mode: str = "eval", depth: int = 3, device: str = "meta"):
    return torchinfo.summary(
        model,
        input_size=(1, *size),
        device=device,
        verbose=0,
        mode=mode,
        depth=depth,
        col_names=("kernel_size", "input_size", "output_size", "num_params", "mult_adds", "trainable"),
    )


def _assert_same_as_torchinfo(ours, theirs) -> None:
    mine = [
        (
            r.class_name,
            r.depth,
            r.depth_index,
            r.input_shape,
            r.output_shape,
            r.num_params,
            r.trainable_params,
            r.macs if r.is_leaf else None,
            r.is_recursive,
            r.trainable,
        )
        for r in ours.rows
    ]
    ref = [
        (
            r.class_name,
            r.depth,
            r.depth_index,
            r.input_size,
            r.output_size,
            r.num_params,
            r.trainable_params,
            r.macs if r.is_leaf_layer else None,
            r.is_recursive,
            r.trainable,
        )
        for r in theirs.summary_list
    ]
    assert len(mine) == len(ref)
    for a, b in zip(mine, ref):
        assert a == b
    assert ours.total_params == theirs.total_params
    assert ours.trainable_params == theirs.trainable_params
    assert ours.total_macs == theirs.total_mult_adds
    assert ours.pass_bytes == theirs.total_output_bytes
    assert ours.param_bytes == theirs.total_param_bytes
    # torchinfo's input size is sys.getsizeof of the storage: the tensor's bytes plus the object's few dozen bytes
    assert 0 <= theirs.total_input - ours.input_bytes < 1000
    mem = ours.memory_mb()
    assert mem["forward_backward_pass"] == round(theirs.total_output_bytes / 1e6, 2)
    assert mem["params"] == round(theirs.total_param_bytes / 1e6, 2)
    assert abs(mem["input"] - theirs.total_input / 1e6) <= 0.005
    total = theirs.total_input + theirs.total_output_bytes + theirs.total_param_bytes
    assert abs(mem["estimated_total"] - total / 1e6) <= 0.005
    # what each row shows at the depth limit: subtree sums at the limit, leftovers above it
    shown = {
        (row.depth, row.depth_index): (ours.params_text(row, params), f"{macs:,}" if macs else "--")
        for row, params, macs in ours.visible_rows()
    }
    for info in theirs.summary_list:
        if info.depth <= ours.depth:
            at_limit = info.depth == ours.depth
            assert shown[info.depth, info.depth_index] == (info.num_params_to_str(at_limit), info.macs_to_str(at_limit))


@pytest.mark.slow
@pytest.mark.parametrize("name", cnnzoo.list_models())
def test_equals_torchinfo_for_every_registered_model_at_its_default_input(name):
    model = _meta_model(name)
    size = model.default_cfg.input_size
    ours = summary(model, size)
    assert ours.input_size == (1, *size)
    _assert_same_as_torchinfo(ours, _torchinfo(model, size))


def test_googlenet_in_training_mode_summarises_its_three_outputs_like_torchinfo():
    model = _meta_model("googlenet")
    ours = summary(model, (3, 224, 224), mode="train")
    _assert_same_as_torchinfo(ours, _torchinfo(model, (3, 224, 224), mode="train"))
    names = [r.name for r in ours.rows]
    assert "aux1" in names and "aux2" in names  # the auxiliary heads ran
    assert ours.rows[0].output_shape == [1, 1000]  # the first of the three outputs, as torchinfo reports it
    eval_rows = summary(model, (3, 224, 224)).rows
    assert "aux1" not in [r.name for r in eval_rows]


def test_one_input_channel_from_a_name_and_from_a_model():
    by_name = summary("resnet20", model_options={"in_chans": 1})
    assert by_name.input_size == (1, 1, 32, 32)
    assert by_name.rows[1].class_name == "Conv2d" and by_name.rows[1].input_shape == [1, 1, 32, 32]
    model = _meta_model("resnet20", in_chans=1)
    _assert_same_as_torchinfo(summary(model), _torchinfo(model, (1, 32, 32)))


def test_a_real_cpu_pass_gives_the_same_rows_as_the_meta_device():
    cpu = cnnzoo.create_model("resnet20")
    on_cpu = summary(cpu, (3, 32, 32), batch_size=2)
    on_meta = summary("resnet20", batch_size=2)
    assert [(r.name, r.output_shape, r.macs, r.num_params) for r in on_cpu.rows] == [
        (r.name, r.output_shape, r.macs, r.num_params) for r in on_meta.rows
    ]
    assert on_cpu.totals() == on_meta.totals() and on_cpu.memory_mb() == on_meta.memory_mb()
    assert next(cpu.parameters()).device.type == "cpu"
    _assert_same_as_torchinfo(summary(cpu, (3, 32, 32)), _torchinfo(cpu, (3, 32, 32), device="cpu"))


def test_training_mode_leaves_batchnorm_statistics_as_they_were():
    model = cnnzoo.create_model("resnet20").eval()
    before = {k: v.clone() for k, v in model.named_buffers()}
    summary(model, (3, 32, 32), batch_size=2, mode="train")
    assert all(torch.equal(before[k], v) for k, v in model.named_buffers())
    assert not model.training  # the model's own mode is restored
    model.train()
    summary(model, (3, 32, 32), batch_size=2)
    assert model.training


class _Toy(nn.Module):
    """conv 3→4 (3×3, bias) on 8×8 → BN → ReLU → the same conv shape again via a shared 4→4 conv twice → fc."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.shared = nn.Conv2d(4, 4, 1, bias=False)
        self.blocks = nn.ModuleList([nn.ReLU(), nn.ReLU()])  # a container whose forward is never called
        self.fc = nn.Linear(4 * 8 * 8, 5)

    def forward(self, x):
        x = self.bn(self.conv(x))
        for act in self.blocks:
            x = act(x)
        x = self.shared(self.shared(x))
        return self.fc(torch.flatten(x, 1))


def test_hand_counted_toy_model_with_a_shared_layer_and_an_uncalled_container():
    model = _Toy()
    model.bn.weight.requires_grad_(False)
    ours = summary(model, (3, 8, 8))
    by_label = {r.label(): r for r in ours.rows}
    # conv: (4·3·3·3 weights + 4 biases) × 64 positions; BN: 2·4 per image; shared 1×1: 16 × 64 per call; fc: 256·5 + 5
    assert by_label["Conv2d (conv): 1-1"].macs == (108 + 4) * 64
    assert by_label["BatchNorm2d (bn): 1-2"].macs == 8
    assert by_label["BatchNorm2d (bn): 1-2"].trainable == "Partial"
    assert by_label["ModuleList (blocks): 1-3"].executed is False  # inserted above its children, as torchinfo does
    assert by_label["ReLU (0): 2-1"].depth == 2
    first, second = by_label["Conv2d (shared): 1-4"], by_label["Conv2d (shared): 1-5"]
    assert not first.is_recursive and second.is_recursive and first.macs == second.macs == 16 * 64
    assert ours.total_params == 112 + 8 + 16 + 1285
    assert ours.trainable_params == ours.total_params - 4
    assert ours.total_macs == 112 * 64 + 8 + 2 * 16 * 64 + 1285
    # activations of layers with parameters, float32, ×2 for the gradient: conv, bn, shared twice, fc
    assert ours.pass_bytes == 2 * 4 * (256 + 256 + 256 + 256 + 5)
    assert ours.param_bytes == 4 * (112 + 8 + 16 + 1285)
    _assert_same_as_torchinfo(ours, _torchinfo(model, (3, 8, 8), device="cpu"))


def test_depth_folds_nested_layers_into_their_parent():
    ours = summary("resnet18", depth=1)
    shown = ours.visible_rows()
    assert max(row.depth for row, _, _ in shown) == 1
    layer1 = next((row, params, macs) for row, params, macs in shown if row.name == "layer1")
    assert layer1[1] == sum(p.numel() for p in layer1[0].module.parameters())
    assert layer1[2] == sum(r.macs for r in ours.rows if r.name.startswith("layer1.") and r.is_leaf)


def test_every_format_carries_rows_and_totals():
    ours = summary("resnet20", depth=2)
    data = json.loads(ours.render("json"))
    assert data["totals"]["total_params"] == 269_722 == ours.total_params
    assert set(data["memory_mb"]) == {"input", "forward_backward_pass", "params", "estimated_total"}
    assert data["layers"][1]["name"] == "conv1" and data["layers"][1]["output_shape"] == [1, 16, 32, 32]
    rows = list(csv.reader(io.StringIO(ours.render("csv"))))
    assert rows[0][:3] == ["name", "type", "depth"] and len(rows) == len(ours.visible_rows()) + 1
    markdown = ours.render("markdown")
    assert "| Layer (type (var_name):depth-idx) |" in markdown and "- Total params: 269,722" in markdown
    table = str(ours)
    for text in (
        "Conv2d (conv1): 1-1",
        "Total mult-adds (G): 0.04",
        "Estimated Total Size (MB)",
        "Non-trainable params: 0",
    ):
        assert text in table


def test_columns_can_be_chosen():
    ours = summary("resnet20", depth=1, columns=("output_size", "num_params"))
    header = ours.render("markdown").splitlines()[2]
    assert "Output Shape" in header and "Kernel Shape" not in header and "Mult-Adds" not in header
    assert set(COLUMNS) >= {"kernel_size", "input_size", "output_size", "num_params", "mult_adds", "trainable"}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"mode": "test"}, "invalid mode"),
        ({"columns": ("params",)}, "invalid column"),
        ({"input_size": (3, 0, 32)}, "three positive numbers"),
        ({"input_size": (3, 32)}, "three positive numbers"),
        ({"depth": -1}, "depth must be"),
        ({"batch_size": 0}, "batch size"),
        ({"input_size": (3, 32.5, 32)}, "three positive numbers C, H, W \\(integers\\)"),
        ({"input_size": ("3", 32, 32)}, "three positive numbers"),
        ({"input_size": 32}, "three positive numbers"),
        ({"input_size": "3x32"}, "malformed shape '3x32'"),
        ({"depth": "2"}, "depth must be 0 or more, got '2'"),
        ({"batch_size": 2.0}, "batch size"),
        ({"batch_size": 10**9}, "at most 65536"),
    ],
)
def test_bad_arguments_are_one_line_errors(kwargs, message):
    with pytest.raises(CnnzooError, match=message) as err:
        summary("resnet20", **kwargs)
    assert "\n" not in str(err.value)


def test_input_size_as_the_command_line_writes_it():
    assert summary("resnet20", "3x28x28", depth=0).input_size == summary("resnet20", (3, 28, 28), depth=0).input_size
    assert summary("resnet20", "3X32X32", depth=0).input_size == (1, 3, 32, 32)


def test_an_input_too_small_for_the_model_is_a_one_line_error():
    with pytest.raises(CnnzooError, match="vgg16 cannot run on input 1x3x16x16") as err:
        summary("vgg16", (3, 16, 16))
    assert "\n" not in str(err.value)


def test_a_plain_module_needs_an_input_size():
    with pytest.raises(CnnzooError, match="no default_cfg"):
        summary(nn.Conv2d(3, 4, 3))
    assert summary(nn.Conv2d(3, 4, 3), (3, 5, 5)).total_macs == (108 + 4) * 9
