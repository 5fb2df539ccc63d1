"""`cnnzoo train` and `cnnzoo evaluate`.

`train` has one flag per TrainConfig field, grouped as the config is; values are read as strings and
converted by the config itself, so a bad value is the config's one-line error (exit status 2), the same
whether it came from a flag or a YAML recipe. Precedence: defaults < recipe < flags, where the recipe is
--config's, else the model's own (its default config names one for CIFAR-10; `--recipe none`: no recipe).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import MISSING

from cnnzoo.cli.args import positive_int
from cnnzoo.errors import Interrupted

TRAIN_FORMATS = ("table", "json")


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add train and evaluate."""
    from cnnzoo.inspect.render import FORMATS

    p = sub.add_parser(
        "train",
        help="train a model; writes a run directory (config, metrics, checkpoints, results)",
        description="Train a registered model on a dataset. Validation (held out from the training split) picks "
        "the best epoch and drives early stopping; the test split is evaluated once, at the end. "
        "Precedence: defaults < recipe < flags; the recipe is --config's, else the model's own for its dataset "
        "(see `cnnzoo models NAME`; --recipe none for the plain defaults).",
    )
    p.add_argument(
        "--config",
        metavar="RECIPE",
        help="a packaged recipe's name (e.g. resnet20_paper; see `cnnzoo "
        "recipes`), a YAML file, or a run's config.yaml (trained as a new run); flags override it",
    )
    p.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue an interrupted run from RUN_DIR/checkpoints/last.pt (give the run directory or that file)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output; print only the final result")
    p.add_argument(
        "--format",
        choices=TRAIN_FORMATS,
        default="table",
        help="the final result as a line (table) or "
        "as the results.json record on stdout, alone, for scripts (json; implies --quiet)",
    )
    p.add_argument(
        "--nproc", default="1", metavar="N", help="train in N processes (one per GPU), started as torchrun "
        "would; rank 0 alone prints; --batch-size stays the global batch (default: 1)"
    )  # fmt: skip
    p.add_argument(
        "--seeds",
        metavar="N",
        help="train seeds SEED..SEED+N-1 into sibling run directories "
        "RUN_DIR-seed<k> (finished ones reused, interrupted ones resumed); print test top-1 mean ± std",
    )
    _add_config_flags(p)
    p.set_defaults(run=run_train)

    p = sub.add_parser(
        "evaluate",
        help="evaluate a trained model on its test (or validation) split",
        description="Top-1/top-5 and per-class accuracy of a run's best weights (or a checkpoint) on the same "
        "split the run used, or on another dataset with the same classes.",
    )
    p.add_argument(
        "checkpoint", metavar="RUN_DIR_OR_CHECKPOINT", help="a run directory, a .pt checkpoint or model.safetensors"
    )
    p.add_argument("--data", help="dataset (default: the one the model was trained on)")
    p.add_argument("--data-dir", help="dataset directory (default: the run's)")
    p.add_argument("--cache-dir", help="decoded-image cache directory (default: the run's)")
    p.add_argument("--split", default="test", help="test or val (default: test)")
    p.add_argument("--batch-size", help="evaluation batch size (default: the run's)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N, mps (default: auto)")
    p.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    p.set_defaults(run=run_evaluate)


# -------------------------------------------------------------------- train
def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per config field, in the config's groups; flags not given stay out of the namespace."""
    from cnnzoo.training.config import FIELDS, GROUPS

    groups = {name: parser.add_argument_group(name) for name in GROUPS}
    for name, leaf in FIELDS.items():
        f = leaf.field
        group = groups[f.metadata["group"]]
        default = f.default if f.default is not MISSING else f.default_factory()
        shown = "" if default in (None, "", [], {}) else f" (default: {_show(default)})"
        help_text = f.metadata["help"] + shown
        flag = "--" + name.replace("_", "-")
        if name == "model_options":
            group.add_argument(
                "-o",
                "--model-option",
                dest="model_option",
                action="append",
                metavar="KEY=VALUE",
                default=argparse.SUPPRESS,
                help=help_text,
            )
        elif isinstance(default, bool) or f.metadata.get("flag") == "bool":  # bool | None: None is auto
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=help_text)
        elif isinstance(default, list):
            group.add_argument(
                flag, nargs=f.metadata.get("nargs", "*"), metavar="N", default=argparse.SUPPRESS, help=help_text
            )
        elif "const" in f.metadata:  # a value that may be left out: --compile means --compile default
            group.add_argument(
                flag, nargs="?", const=f.metadata["const"], metavar="MODE", default=argparse.SUPPRESS, help=help_text
            )
        else:
            group.add_argument(flag, metavar=name.upper(), default=argparse.SUPPRESS, help=help_text)


def _show(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def train_values(args: argparse.Namespace) -> dict:
    """The config as the command line gives it: the recipe's values, overridden by the flags given."""
    from cnnzoo.models import parse_model_options
    from cnnzoo.training.config import FIELD_NAMES, recipe_values

    flags = {name: getattr(args, name) for name in FIELD_NAMES if name in vars(args)}
    return recipe_values(args.config, flags, parse_model_options(getattr(args, "model_option", None)))


def _launch(args: argparse.Namespace, nproc: int) -> int:
    """`--nproc N`: bad input is one line here, not N processes' tracebacks and a run directory; then start them."""
    from cnnzoo.device import resolve_device
    from cnnzoo.training import distributed
    from cnnzoo.training.config import TrainConfig, load_yaml
    from cnnzoo.training.resume import resume_run_dir

    if args.resume:  # the device the run trained on
        saved = resume_run_dir(args.resume) / "config.yaml"
        device = (load_yaml(saved) if saved.is_file() else {}).get("device", "auto")
    else:
        cfg = TrainConfig.from_dict(train_values(args), origin="the command line")
        device = cfg.device
        if cfg.sync_bn:
            distributed.check_sync_bn(resolve_device(device))
    distributed.check_nproc(nproc, resolve_device(device))
    return distributed.launch(nproc, distributed.without_nproc(args.argv))


def run_train(args: argparse.Namespace) -> int:
    from cnnzoo.training import distributed
    from cnnzoo.training.config import FIELD_NAMES, TrainConfig
    from cnnzoo.training.loop import TrainingStopped
    from cnnzoo.training.resume import RESUME_OVERRIDABLE, check_resume_flags, finished_results, resume_run_dir
    from cnnzoo.training.train import PeerLost, train

    nproc = positive_int("nproc", args.nproc)
    if nproc > 1 and distributed.world() == 1:  # not yet one of N: start the N, running this same command
        return _launch(args, nproc)
    args.quiet = args.quiet or args.format == "json"  # stdout holds the JSON document alone
    try:
        if args.resume:
            given = [n for n in FIELD_NAMES if n in vars(args)]
            given += ["--model-option"] * ("model_option" in vars(args)) + ["--config"] * bool(args.config)
            check_resume_flags(given + ["--seeds"] * (args.seeds is not None))
            run_dir = resume_run_dir(args.resume)
            finished = finished_results(run_dir)
            if finished is not None:
                epochs = f"{finished['epochs']} epoch" + ("s" if finished["epochs"] != 1 else "")
                _print_result(args, finished, f"{run_dir} is finished ({epochs}); its recorded result: ")
                return 0
            overrides = {n: getattr(args, n) for n in RESUME_OVERRIDABLE if n in vars(args)}
            results = train(overrides or None, resume=run_dir, quiet=args.quiet)
        elif args.seeds is not None:
            return _train_seeds(args)
        else:
            cfg = TrainConfig.from_dict(train_values(args), origin="the command line")
            results = train(cfg, quiet=args.quiet)  # its first line names the recipe, device and precision
    except TrainingStopped as err:  # a NaN loss, a full disk: not bad input, but one line all the same
        print(f"cnnzoo: error: {err}", file=sys.stderr)
        if isinstance(err, PeerLost):  # gloo's threads on a broken group can abort the exit: the line is said
            distributed.exit_now(1)
        return 1
    if distributed.is_main():
        _print_result(args, results)
    return 0


def _print_result(args: argparse.Namespace, results: dict, intro: str = "") -> None:
    """The run's result: its summary line, or with --format json the results.json record."""
    print(json.dumps(results, indent=2) if args.format == "json" else intro + summary_line(results))


def _train_seeds(args: argparse.Namespace) -> int:
    """--seeds N: one run per seed in sibling directories, each run's line, then the mean ± std."""
    from cnnzoo.experiments.runs import run_seeds, sibling_run_dirs
    from cnnzoo.stats import format_mean_std
    from cnnzoo.training import distributed
    from cnnzoo.training.config import TrainConfig
    from cnnzoo.training.runlog import default_run_dir

    count = positive_int("seeds", args.seeds)
    values = train_values(args)
    cfg = TrainConfig.from_dict(values, origin="the command line")
    seeds = list(range(cfg.seed, cfg.seed + count))
    base = cfg.run_dir or default_run_dir(cfg.runs_root, cfg.model, cfg.data.name)
    main = distributed.is_main()  # under torchrun every rank trains each seed; rank 0 alone prints
    try:
        runs = run_seeds(values, seeds, sibling_run_dirs(base, seeds), quiet=args.quiet,
                         announce=print if main and not args.quiet else None)  # fmt: skip
    except Interrupted as err:  # one run was interrupted, but the command trains several
        hint = "rerun the same command to resume: finished seeds are reused, the interrupted one resumed"
        raise Interrupted(err.signal_number, err.run_dir, hint) from None
    if not main:
        return 0
    if args.format == "json":
        top1, std = runs.top1()
        print(json.dumps({"seeds": seeds, "top1_mean": top1, "top1_std": std, "runs": runs.results}, indent=2))
        return 0
    for seed, status, results in zip(runs.seeds, runs.status, runs.results):
        print(f"seed {seed} ({status}): {summary_line(results)}")
    print(f"test top-1 {format_mean_std(*runs.top1())}% (mean ± std over {count} seeds {seeds[0]}..{seeds[-1]})")
    return 0


def summary_line(results: dict) -> str:
    """The final result in one line: test accuracy, the validation epoch it came from, the run directory."""
    test = results["test"]
    line = f"test top-1 {100 * test['top1']:.2f}%  top-5 {100 * test['top5']:.2f}%  ({test['count']} images)"
    tta = results.get("test_tta")
    if tta:
        line += f"  with tta {tta['mode']}: top-1 {100 * tta['top1']:.2f}%"
    best = results.get("val_best")
    if best:
        line += f"  best val top-1 {100 * best['top1']:.2f}% at epoch {best['epoch']}"
    return line + f"  run: {results['run_dir']}"


# -------------------------------------------------------------------- evaluate
def run_evaluate(args: argparse.Namespace) -> int:
    from cnnzoo.inspect.render import render_table
    from cnnzoo.training.evaluate import evaluate_run

    result = evaluate_run(
        args.checkpoint, split=args.split, data=args.data, data_dir=args.data_dir, cache_dir=args.cache_dir,
        batch_size=args.batch_size, device=args.device,
    )  # fmt: skip
    if args.format == "json":
        per_class = dict(zip(result.pop("classes"), result["per_class"]))
        print(json.dumps({**result, "per_class": per_class}, indent=2))
        return 0
    counts = [sum(row) for row in result["confusion"]]
    rows = [(c, n, _pct(a)) for c, n, a in zip(result["classes"], counts, result["per_class"])]
    rows.append(("all", result["count"], _pct(result["top1"])))
    if args.format in ("table", "markdown"):
        print(
            f"{result['data']} {result['split']}: top-1 {100 * result['top1']:.2f}%  top-5 {100 * result['top5']:.2f}%  "
            f"loss {result['loss']:.4f}  ({result['count']} images, {result['checkpoint']})"
        )
    print(render_table(("class", "images", "accuracy (%)"), rows, args.format))
    return 0


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 2)
