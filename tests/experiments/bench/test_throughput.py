"""`cnnzoo bench throughput`: the smoke run writes every system's figures; counterparts are checked, not assumed."""

from __future__ import annotations

import pytest
import torch
from bench_checks import assert_metadata, assert_positive_finite, load_results

from cnnzoo.experiments.bench import throughput
from cnnzoo.experiments.bench.throughput import BenchModel, ThroughputSetting, counterpart, measure_model
from cnnzoo.inspect.counts import count_params
from cnnzoo.models import create_model


@pytest.mark.slow
def test_smoke_run_writes_positive_finite_figures_for_every_system(run_cli, tmp_path):
    status, out = run_cli("bench", "throughput", "--smoke", "--out", str(tmp_path))
    assert status == 0 and "train images/s" in out
    record, md = load_results(tmp_path, "throughput_cpu")
    assert_metadata(record, "throughput", f"cnnzoo bench throughput --smoke --out {tmp_path}")
    assert_positive_finite(record, ("train_images_per_s", "infer_images_per_s", "train_ratio", "infer_ratio", "params"))
    systems = {(row["model"], row["system"]) for row in record["rows"]}
    for spec in throughput.SMOKE_MODELS:
        assert {(spec.label, "cnnzoo engine"), (spec.label, "plain loop")} <= systems
    assert ("resnet18 (small_input=True)", "torchvision") in systems
    timm_measured = ("resnet18 (small_input=True)", "timm") in systems
    timm_skipped = any(s["what"].endswith("timm") and "not installed" in s["reason"] for s in record["skipped"])
    assert timm_measured != timm_skipped
    plain = [row for row in record["rows"] if row["system"] == "plain loop"]
    assert all(row["train_ratio"] == 1.0 for row in plain)
    assert "| model | input | system | params | train images/s |" in md and "cnnzoo engine" in md


def test_torchvision_counterpart_is_the_same_architecture():
    spec = next(m for m in throughput.MODELS if m.name == "resnet18" and m.image_size == 32)
    with torch.device("meta"):
        ours = create_model(spec.name, num_classes=10, **spec.options)
        theirs = counterpart("torchvision", spec, 10)
    assert count_params(ours) == count_params(theirs)
    assert theirs.conv1.kernel_size == (3, 3) and isinstance(theirs.maxpool, torch.nn.Identity)


def test_a_counterpart_of_another_architecture_is_skipped_with_its_reason(tmp_path):
    spec = BenchModel("resnet20", image_size=32, torchvision="resnet18")  # deliberately not the same network
    setting = ThroughputSetting(
        models=(spec,),
        batch_size=2,
        precision="fp32",
        channels_last=False,
        steps=1,
        epochs=1,
        device="cpu",
        inference=False,
    )
    rows, skipped = measure_model(spec, setting, torch.device("cpu"), tmp_path)
    assert [row["system"] for row in rows] == ["cnnzoo engine", "plain loop"]
    assert len(skipped) == 1 and "not the same architecture" in skipped[0]["reason"]
    assert rows[0]["train_images_per_s"] > 0 and "infer_images_per_s" not in rows[0]


def test_an_unknown_compile_mode_is_one_line_for_people(run_cli, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_cli("bench", "throughput", "--smoke", "--compile", "fast")
    assert exit_info.value.code == 2
    assert "invalid choice: 'fast'" in capsys.readouterr().err


def test_an_unknown_bench_model_is_one_line_for_people(run_cli, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_cli("bench", "throughput", "--smoke", "--model", "resnet2O")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("cnnzoo: error: no bench model named 'resnet2O'") and len(err.splitlines()) == 1


# -------------------------------------------------------------------- the CPU grid (issue 16)
def test_a_cpu_without_smoke_gets_the_grid_and_a_gpu_the_single_setting(monkeypatch):
    assert throughput.default_setting("cpu") is throughput.CPU
    assert throughput.CPU.variants[0] == throughput.CPU_BASELINE and throughput.CPU.mfu
    assert {("fp32", False), ("bf16", False), ("bf16", True)} <= {
        (v.precision, v.channels_last) for v in throughput.CPU.variants
    }
    assert {v.compile for v in throughput.CPU.variants} == {"none", "default"}
    assert {v.threads for v in throughput.CPU.variants} == {1, 2}
    assert {m.name for m in throughput.CPU.models} == {"resnet20", "resnet56", "nin", "vgg11_bn", "resnet18"}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert throughput.default_setting("auto").variants == ()


def test_the_grid_measures_each_variant_with_its_threads_and_utilisation(tmp_path, monkeypatch):
    variants = (
        throughput.Variant("fp32", False, threads=1, engine=True),
        throughput.Variant("bf16", True, threads=1, engine=True),
    )  # two engine runs: a run directory each
    setting = ThroughputSetting(
        models=(BenchModel("resnet20"),),
        batch_size=4,
        steps=1,
        epochs=1,
        device="cpu",
        inference=False,
        variants=variants,
        mfu=True,
    )
    monkeypatch.setattr(throughput, "PEAK_REPS", 1)
    threads, seen, said = torch.get_num_threads(), [], []
    real = throughput.plain_train_rates
    monkeypatch.setattr(throughput, "plain_train_rates", lambda *a: (seen.append(torch.get_num_threads()), real(*a))[1])
    record = throughput.run(setting, smoke=False, command="test", out_dir=tmp_path, progress=said.append)
    assert torch.get_num_threads() == threads and seen == [1] * 4  # each variant's threads (twice each: ABBA), restored
    rows = {(r["setting"], r["system"]): r for r in record["rows"]}
    base = rows[("fp32, NCHW, eager, 1 thread", "plain loop")]
    assert set(rows) == {(v.label, system) for v in variants for system in ("cnnzoo engine", "plain loop")}
    assert base["fp32_ratio"] == 1.0 and base["train_ratio"] == 1.0
    assert_positive_finite(record, ("train_images_per_s", "fp32_ratio", "train_gflops", "fp32_mfu", "bf16_mfu"))
    assert all(0 < r["bf16_mfu"] < 1 and 0 < r["fp32_mfu"] < 1 for r in record["rows"])
    assert said[0].startswith("dense-kernel peaks: fp32") and any(
        m.startswith("[2/2] resnet20 @32, bf16") for m in said
    )
    md = (tmp_path / "throughput_cpu.md").read_text()
    assert "MFU of bf16 peak" in md and "train × fp32 NCHW eager" in md
