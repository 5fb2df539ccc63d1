"""`cnnzoo reproduce` in quick mode on the CIFAR-10 JPEG copy: tables with the paper's and the measured column,
verdicts, valid PNG figures, shared runs and --report-only; the registry, budgets and verdicts on their own."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from png_checks import assert_png

from cnnzoo.errors import CnnzooError
from cnnzoo.experiments.reproduce import common, reproduce

PERCENT = r"\d+\.\d\d ± \d+\.\d\d"
# Smaller still than the quick budget, for the reproductions that train five or two heavier networks.
TINY = {"train_limit": 64, "eval_limit": 64, "batch_size": 32, "val_size": 100}


def table_rows(report: str, first_cell: str) -> list[list[str]]:
    """The cells of the Markdown table rows whose first cell matches `first_cell` (a regex)."""
    rows = [line for line in report.splitlines() if re.match(rf"\| {first_cell} \|", line)]
    return [[c.strip() for c in row.strip("|").split("|")] for row in rows]


def entry(errors: list[float]) -> dict:
    return {"test_error": errors}


def test_verdicts_need_spread_and_order():
    low, high = entry([0.08, 0.081, 0.079]), entry([0.10, 0.101, 0.099])
    assert common.verdict(low, high) == "holds"
    assert common.verdict(high, low) == "does not hold"
    assert common.verdict(low, entry([0.081, 0.09, 0.072])).startswith("inconclusive (the seeds' spreads overlap)")
    assert common.verdict(entry([0.05]), entry([0.5])).startswith("inconclusive (one seed")
    assert common.verdict_all(["holds", "holds"]) == "holds"
    assert common.verdict_all(["holds", "does not hold", "inconclusive (x)"]) == "does not hold"
    assert common.verdict_all(["holds", "inconclusive (x)"]) == "inconclusive (x)"


def test_budgets_compress_the_paper_schedule():
    recipe = common.paper_recipe()
    assert recipe["max_steps"] == 64000 and recipe["milestones"] == [32000, 48000] and recipe["batch_size"] == 128
    short = common.budget_values("short", recipe)
    assert short["max_steps"] == round(64000 * common.SHORT_FRACTION)
    assert short["milestones"] == [round(m * common.SHORT_FRACTION) for m in (32000, 48000)]
    assert short["epochs"] * 351 >= short["max_steps"]  # 45k / 128 = 351 steps per epoch: the epochs suffice
    assert common.budget_values("paper", recipe) == {}
    assert common.budget_values("quick", recipe)["epochs"] == 1
    with pytest.raises(CnnzooError):
        common.budget_values("huge", recipe)


def test_resnet110_warms_up_at_a_tenth_of_the_lr():
    from cnnzoo.training.config import TrainConfig
    from cnnzoo.training.optim import build_schedule

    values = common.resnet_values("resnet110", "paper", {"device": "cpu"})
    schedule = build_schedule(TrainConfig.from_dict(values), steps_per_epoch=351, total_steps=64000)
    assert [schedule.factor(s) for s in (0, 399, 400, 31999, 32000, 48000)] == pytest.approx(
        [0.1, 0.1, 1.0, 1.0, 0.1, 0.01]
    )
    assert "warmup_factor" not in common.resnet_values("resnet56", "paper")
    assert common.resnet_values("resnet110", "short")["warmup_steps"] == 400


def test_the_paper_and_short_budgets_subtract_the_per_pixel_mean():
    """He et al. 2016, section 4.2: "with the per-pixel mean subtracted"; --normalize channel overrides it."""
    assert common.resnet_values("resnet20", "paper")["normalize"] == "pixel"
    assert common.resnet_values("resnet56", "short")["normalize"] == "pixel"
    assert common.resnet_values("resnet20", "paper", {"normalize": "channel"})["normalize"] == "channel"


def test_the_normalize_flag_reaches_every_run_and_a_bad_one_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    import cnnzoo.experiments.reproduce as registry
    from cnnzoo.cli import main

    calls = []
    monkeypatch.setattr(registry, "reproduce", lambda name, **kw: calls.append(kw) or tmp_path / "report.md")
    assert main(["reproduce", "degradation", "--budget", "quick", "--normalize", "channel"]) == 0
    assert calls[0]["config"] == {"normalize": "channel"}
    with pytest.raises(SystemExit) as exit_info:
        main(["reproduce", "degradation", "--normalize", "mean"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err == "cnnzoo: error: invalid normalize 'mean'; valid choices: 'channel', 'pixel'\n"  # one line
    assert len(calls) == 1


def test_training_options_on_a_reproduction_that_trains_nothing_are_one_line_errors(tmp_path, capsys):
    from cnnzoo.cli import main

    for extra in (["--normalize", "pixel"], ["--seeds", "3"]):
        with pytest.raises(SystemExit) as info:
            main(["reproduce", "flops", "--budget", "quick", "--out", str(tmp_path / "f"), *extra])
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{extra[0]} does not apply" in err and "trains nothing" in err
    assert not (tmp_path / "f").exists()


def test_missing_and_unknown_reproductions_are_one_line_errors(tmp_path, monkeypatch):
    from cnnzoo.experiments import reproduce as registry

    monkeypatch.setitem(registry.REPRODUCTIONS, "later", "not_yet_written")  # as flops before its module arrives
    with pytest.raises(CnnzooError, match="reproduction 'later' is not part of this cnnzoo"):
        reproduce("later", out=tmp_path / "o")
    with pytest.raises(CnnzooError, match="unknown reproduction 'degredation'.*'degradation'"):
        reproduce("degredation", out=tmp_path / "o")
    with pytest.raises(CnnzooError, match="--depth does not apply"):
        reproduce("degradation", options={"depth": 20}, out=tmp_path / "o")
    with pytest.raises(CnnzooError, match="--depths takes depths among"):
        reproduce("cifar-resnets", options={"depths": [21]}, out=tmp_path / "o")
    with pytest.raises(CnnzooError, match="--report-only needs finished runs"):
        reproduce(
            "degradation", report_only=True, options={"depths": [20]}, runs_root=tmp_path / "r", out=tmp_path / "o"
        )
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_degradation_then_cifar_resnets_share_runs_and_report(tmp_path, cifar10_jpeg_dir):
    common_args = ["--budget", "quick", "--depths", "20", "--data-dir", str(cifar10_jpeg_dir), "--device", "cpu",
                   "--cache-dir", str(tmp_path / "cache"), "--runs-root", str(tmp_path / "runs")]  # fmt: skip
    cli = [sys.executable, "-m", "cnnzoo", "reproduce"]
    done = subprocess.run([*cli, "degradation", *common_args, "--out", str(tmp_path / "deg")], capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("training seed 0") == 2
    report = (tmp_path / "deg" / "report.md").read_text()
    rows = {r[0]: r for r in table_rows(report, "(plain20|resnet20)")}
    assert set(rows) == {"plain20", "resnet20"}
    assert re.fullmatch(PERCENT, rows["plain20"][1]) and re.fullmatch(PERCENT, rows["resnet20"][2])
    assert rows["resnet20"][3] == "8.75" and rows["plain20"][3].startswith("fig. 6 only")
    assert "quick" in report and "CIFAR-10, JPEG copy" in report and "orderings and gaps" in report
    assert "recipes/resnet20_paper.yaml" in report and "2 trained, 0 resumed, 0 reused" in report
    assert_png(tmp_path / "deg" / "degradation.png")
    record = json.loads((tmp_path / "deg" / "results.json").read_text())
    resnet20 = record["entries"]["resnet20"]
    assert len(resnet20["curves"]["train_error"]) == 1 and 0 <= resnet20["test_error"][0] <= 1
    assert rows["resnet20"][2].startswith(f"{100 * resnet20['test_error'][0]:.2f}")

    done = subprocess.run([*cli, "cifar-resnets", *common_args, "--out", str(tmp_path / "cr")], capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "training seed" not in done.stdout and done.stdout.count("reusing the finished run") == 2
    report = (tmp_path / "cr" / "report.md").read_text()
    (row,) = table_rows(report, "20")
    assert row[1] == "8.75" and re.fullmatch(PERCENT, row[3]) and re.fullmatch(PERCENT, row[5])
    assert_png(tmp_path / "cr" / "test_error_vs_depth.png")

    (tmp_path / "cr" / "report.md").unlink()
    (tmp_path / "cr" / "test_error_vs_depth.png").unlink()
    done = subprocess.run([*cli, "cifar-resnets", *common_args, "--out", str(tmp_path / "cr"), "--report-only"],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "training seed" not in done.stdout
    assert table_rows((tmp_path / "cr" / "report.md").read_text(), "20")[0][3] == row[3]
    assert_png(tmp_path / "cr" / "test_error_vs_depth.png")


@pytest.mark.slow
def test_residual_units_report_the_five_variants(tmp_path, cifar10_jpeg_dir):
    path = reproduce("residual-units", budget="quick", device="cpu", data_dir=str(cifar10_jpeg_dir),
                     cache_dir=str(tmp_path / "cache"), runs_root=tmp_path / "runs", out=tmp_path / "ru",
                     options={"depth": 20}, config=TINY)  # fmt: skip
    report = path.read_text()
    rows = table_rows(report, r"\([a-e]\)")
    assert [r[0] for r in rows] == ["(a)", "(b)", "(c)", "(d)", "(e)"]
    assert [float(r[2]) for r in rows] == [6.61, 8.17, 7.84, 6.71, 6.37]
    assert all(re.fullmatch(PERCENT, r[3]) for r in rows)
    assert "measured here on ResNet-20" in report
    claims = table_rows(report, r"\((e|b)\) [^|]* has the (lowest|highest) test error")
    assert len(claims) == 2 and all(c[1].startswith("inconclusive (one seed") for c in claims)
    record = json.loads((tmp_path / "ru" / "results.json").read_text())
    assert record["entries"]["preact"]["model_options"] == {"residual_unit": "preact"}
    assert record["entries"]["original"]["model_options"] == {}  # (a) is the default: cifar-resnets' runs
    assert len({e["run_dirs"][0] for e in record["entries"].values()}) == 5
    assert_png(tmp_path / "ru" / "residual_units.png")


@pytest.mark.slow
def test_aux_classifiers_with_and_without(tmp_path, cifar10_jpeg_dir):
    path = reproduce("aux-classifiers", budget="quick", device="cpu", data_dir=str(cifar10_jpeg_dir),
                     cache_dir=str(tmp_path / "cache"), runs_root=tmp_path / "runs", out=tmp_path / "aux",
                     options={"aux_weight": 0.5}, config=TINY)  # fmt: skip
    report = path.read_text()
    rows = {r[0]: r for r in table_rows(report, "(with auxiliary classifiers|without)")}
    assert rows["with auxiliary classifiers"][1] == "0.5" and rows["without"][1] == "-"
    assert all(re.fullmatch(PERCENT, r[3]) for r in rows.values())
    record = json.loads((tmp_path / "aux" / "results.json").read_text())
    options = [e["model_options"] for e in record["entries"].values()]
    assert [o["aux_logits"] for o in options] == [True, False] and all(o["small_input"] for o in options)
    assert_png(tmp_path / "aux" / "aux_classifiers.png")


@pytest.mark.parametrize(("name", "first_cell", "figure"), [
    ("flops", "ResNet-18", "flops_conventions.png"),
    ("bottleneck", "naive inception (fig. 2a)", None),
])  # fmt: skip
def test_counting_reproductions_write_their_report_folder_and_rebuild_it(name, first_cell, figure, tmp_path, capsys):
    """`cnnzoo reproduce flops|bottleneck --budget quick`: report.md with the setting and the module's tables,
    results.json and PNGs; --report-only rebuilds the report from results.json without measuring again."""
    from cnnzoo.cli import main

    out = tmp_path / name
    assert main(["reproduce", name, "--budget", "quick", "--device", "cpu", "--out", str(out)]) == 0
    report = (out / "report.md").read_text()
    assert report.startswith(f"# cnnzoo reproduce {name}") and "**budget**: quick" in report
    assert "**hardware**" in report and "**versions**" in report and "torch " in report
    results = json.loads((out / "results.json").read_text())
    assert results["budget"] == "quick"
    figures = sorted(out.glob("*.png"))
    assert figures and (figure is None or out / figure in figures)
    for path in figures:
        assert_png(path)
        assert f"]({path.name})" in report  # the report shows each figure
    before = report

    for path in [out / "report.md", *figures]:
        path.unlink()
    assert main(["reproduce", name, "--budget", "quick", "--out", str(out), "--report-only"]) == 0
    rebuilt = (out / "report.md").read_text()
    assert rebuilt.split("## ", 1)[1] == before.split("## ", 1)[1]  # the same tables, from results.json
    assert sorted(out.glob("*.png")) == figures
    assert f"| {first_cell} |" in rebuilt  # a row of its main table


def test_an_output_that_cannot_be_a_folder_is_refused_before_any_work(tmp_path, monkeypatch):
    from cnnzoo.experiments.reproduce import flops

    def worked(*args, **kwargs):
        raise AssertionError("worked before refusing")

    monkeypatch.setattr(common, "run_seeds", worked)
    monkeypatch.setattr(flops, "measure", worked)
    taken = tmp_path / "a-file"
    taken.write_text("")
    with pytest.raises(CnnzooError, match=f"^--out {taken} is a file, not a folder"):
        reproduce("degradation", budget="quick", options={"depths": [20]}, out=taken, runs_root=tmp_path / "r")
    with pytest.raises(CnnzooError, match=f"^--runs-root {taken} is a file, not a folder"):
        reproduce("degradation", budget="quick", options={"depths": [20]}, out=tmp_path / "o", runs_root=taken)
    with pytest.raises(CnnzooError, match=f"^--out {taken / 'x'} cannot be made: {taken} is a file"):
        reproduce("flops", budget="quick", device="cpu", out=taken / "x")


@pytest.mark.parametrize(("name", "content", "message"), [
    ("flops", '{"experiment": "bottleneck", "comparisons": {}}',
     r"holds the results of `cnnzoo reproduce bottleneck`, not of flops"),
    ("flops", '{"budget": "quick", "comparisons": {}}', r"is not the results expected here: it has no 'device', "),
    ("flops", '{"budget": "quick", "device": "cpu", "torch": "2", "tools": {}, "models": [{"label": "A"}]}',
     r"is not the results expected here: it\['models'\]\[0\] has no 'model', 'input'"),
    ("bottleneck", "{}", r"is not the results expected here: it has no 'budget', "),
    ("bottleneck", '{"budget": "quick", "device": "cpu", "tor', r"is truncated or not JSON \("),
    ("bottleneck", None, r"does not exist; run `cnnzoo reproduce bottleneck` without --report-only"),
], ids=["another-experiment", "another-shape", "malformed-row", "empty", "truncated", "missing"])  # fmt: skip
def test_report_only_checks_the_results_file_it_reads(tmp_path, capsys, name, content, message):
    from cnnzoo.cli import main

    if content is not None:
        (tmp_path / "results.json").write_text(content)
    with pytest.raises(SystemExit) as info:
        main(["reproduce", name, "--budget", "quick", "--out", str(tmp_path), "--report-only"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1
    assert re.match(rf"cnnzoo: error: {tmp_path / 'results.json'} {message}", err), err


def test_report_only_says_a_runs_results_file_is_truncated_not_missing(tmp_path):
    values = common.resnet_values("resnet20", "quick", {"device": "cpu", "data": "digits"})
    run_dir = common.experiment_run_dir(tmp_path, values, 0)
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "checkpoints" / "last.pt").write_bytes(b"")
    (run_dir / "results.json").write_text('{"test": {"top1": 0.9')
    with pytest.raises(
        CnnzooError,
        match=rf"^{run_dir / 'results.json'} is not a results record \(truncated or not "
        r"JSON\); restore it, or delete it",
    ):
        common.run_setting(values, 1, tmp_path, train=False)


def test_a_budget_sized_for_a_gpu_warns_on_a_cpu_before_training(tmp_path, monkeypatch):
    def trained(*args, **kwargs):
        raise AssertionError("trained")

    monkeypatch.setattr(common, "run_seeds", trained)
    with pytest.warns(UserWarning, match="--budget short is sized for a GPU"):
        with pytest.raises(AssertionError, match="trained"):
            reproduce(
                "degradation",
                budget="short",
                device="cpu",
                options={"depths": [20]},
                out=tmp_path / "o",
                runs_root=tmp_path / "r",
            )
