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
from dataclasses import MISSING, fields

from cnnzoo.cli.args import positive_int
from cnnzoo.errors import CnnzooError

SPLITS = ("test", "val")
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
    p.add_argument("--config", metavar="RECIPE", help="a packaged recipe's name (e.g. resnet20_paper; see `cnnzoo "
                   "recipes`), a YAML file, or a run's config.yaml (trained as a new run); flags override it")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from RUN_DIR/checkpoints/last.pt "
                   "(give the run directory or that file)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output; print only the final result")
    p.add_argument("--format", choices=TRAIN_FORMATS, default="table", help="the final result as a line (table) or "
                   "as the results.json record on stdout, alone, for scripts (json; implies --quiet)")
    p.add_argument(
        "--nproc", default="1", metavar="N", help="train in N processes (one per GPU) under torchrun; "
        "--batch-size stays the global batch (default: 1)"
    )  # fmt: skip
    p.add_argument("--seeds", metavar="N", help="train seeds SEED..SEED+N-1 into sibling run directories "
                   "RUN_DIR-seed<k> (finished ones reused, interrupted ones resumed); print test top-1 mean ± std")
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
    from cnnzoo.training.config import GROUPS, TrainConfig

    groups = {name: parser.add_argument_group(name) for name in GROUPS}
    for f in fields(TrainConfig):
        group = groups[f.metadata["group"]]
        default = f.default if f.default is not MISSING else f.default_factory()
        shown = "" if default in (None, "", [], {}) else f" (default: {_show(default)})"
        help_text = f.metadata["help"] + shown
        flag = "--" + f.name.replace("_", "-")
        if f.name == "model_options":
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
            group.add_argument(flag, metavar=f.name.upper(), default=argparse.SUPPRESS, help=help_text)


def _show(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def train_values(args: argparse.Namespace) -> dict:
    """The config as the command line gives it: the recipe's values, overridden by the flags given."""
    from cnnzoo.models import parse_model_options
    from cnnzoo.training.config import FIELD_NAMES, load_config_file

    values: dict = {}
    flags = {name: getattr(args, name) for name in FIELD_NAMES if name in vars(args)}
    options = parse_model_options(getattr(args, "model_option", None))
    if args.config:
        values = load_config_file(args.config)
    elif str(flags.get("recipe", "")).lower() == "none":
        flags["recipe"] = None  # --recipe none: the plain defaults, not the model's recipe
    elif "model" in flags and "recipe" not in flags:
        values = _model_recipe_values(flags["model"], flags.get("data"), options)
    values.update(flags)
    if options:
        base = values.get("model_options") or {}
        if not isinstance(base, dict):
            raise CnnzooError(f"model_options in {args.config} must be a mapping of KEY: VALUE, got {base!r}")
        values["model_options"] = {**base, **options}
    return values


def _model_recipe_values(model: str, data: str | None, options: dict) -> dict:
    """The model's own recipe (defaults < recipe < flags), where it names one for this dataset."""
    from cnnzoo.training.config import load_yaml
    from cnnzoo.training.recipes import model_recipe, recipe_label

    path = model_recipe(model, options)
    if path is None:
        return {}
    values = load_yaml(path)
    if data is not None and data != values.get("data"):
        return {}  # a recipe for CIFAR-10 says nothing about, say, digits: plain defaults there
    values["recipe"] = recipe_label(path)
    return values


def run_train(args: argparse.Namespace) -> int:
    from cnnzoo.training import distributed
    from cnnzoo.training.config import FIELD_NAMES, TrainConfig
    from cnnzoo.training.engine import RESUME_OVERRIDABLE, TrainingStopped, finished_results, resume_run_dir, train

    nproc = positive_int("nproc", args.nproc)
    if nproc > 1 and distributed.world() == 1:  # not yet under torchrun: start it, running this same command
        return distributed.launch(nproc, distributed.without_nproc(args.argv))
    args.quiet = args.quiet or args.format == "json"  # stdout holds the JSON document alone
    try:
        if args.resume:
            given = [n for n in FIELD_NAMES if n in vars(args) and n not in RESUME_OVERRIDABLE]
            given += ["--model-option"] if "model_option" in vars(args) else []
            given += ["--config"] if args.config else []
            given += ["--seeds"] if args.seeds is not None else []
            if given:
                flags = ", ".join(n if n.startswith("-") else "--" + n.replace("_", "-") for n in given)
                raise CnnzooError(f"--resume continues a run with its saved config; drop {flags} (or start a new run)")
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
        return 1
    if distributed.is_main():
        _print_result(args, results)
    return 0


def _print_result(args: argparse.Namespace, results: dict, intro: str = "") -> None:
    """The run's result: its summary line, or with --format json the results.json record."""
    print(json.dumps(results, indent=2) if args.format == "json" else intro + summary_line(results))


def _train_seeds(args: argparse.Namespace) -> int:
    """--seeds N: one run per seed in sibling directories, each run's line, then the mean ± std."""
    from cnnzoo.experiments.runs import format_mean_std, run_seeds, sibling_run_dirs
    from cnnzoo.training import distributed
    from cnnzoo.training.config import TrainConfig
    from cnnzoo.training.runlog import default_run_dir

    count = positive_int("seeds", args.seeds)
    values = train_values(args)
    cfg = TrainConfig.from_dict(values, origin="the command line")
    seeds = list(range(cfg.seed, cfg.seed + count))
    base = cfg.run_dir or default_run_dir(cfg.runs_root, cfg.model, cfg.data)
    main = distributed.is_main()  # under torchrun every rank trains each seed; rank 0 alone prints
    runs = run_seeds(values, seeds, sibling_run_dirs(base, seeds), quiet=args.quiet,
                     announce=print if main and not args.quiet else None)
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
    best = results.get("val_best")
    if best:
        line += f"  best val top-1 {100 * best['top1']:.2f}% at epoch {best['epoch']}"
    return line + f"  run: {results['run_dir']}"


# -------------------------------------------------------------------- evaluate
def run_evaluate(args: argparse.Namespace) -> int:
    import torch

    from cnnzoo.errors import check_choice
    from cnnzoo.inspect.render import render_table
    from cnnzoo.predict import load
    from cnnzoo.training.config import TrainConfig, coerce
    from cnnzoo.device import choose_speed, resolve_device
    from cnnzoo.training.engine import evaluate, make_loaders

    check_choice("split", args.split, SPLITS)
    device = resolve_device(args.device)
    loaded = load(args.checkpoint, device=device)
    if not loaded.config:
        raise CnnzooError(f"{loaded.path} holds no training config; evaluate a run directory or a .pt checkpoint")
    values = dict(loaded.config)
    for key in ("data", "data_dir", "cache_dir"):
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    if args.data is not None and args.data != loaded.config.get("data") and args.data_dir is None:
        values["data_dir"] = TrainConfig().data_dir
    if args.batch_size is not None:
        values["eval_batch_size"] = coerce("eval_batch_size", args.batch_size)
    values.update(run_dir=None)
    cfg = TrainConfig.from_dict(values, origin=f"the config saved in {loaded.path}")
    # The test split alone, normalised as the model was trained: no train split or validation holdout needed.
    test_only = dict(test_only=True, stats=loaded.stats) if args.split == "test" else {}
    loaders = make_loaders(cfg, device, **test_only)
    if list(loaders.classes) != list(loaded.classes):
        raise CnnzooError(
            f"{cfg.data} has classes {_few(loaders.classes)} but the model was trained on {_few(loaded.classes)}"
        )
    loader = loaders.test if args.split == "test" else loaders.val
    if loader is None:
        raise CnnzooError("this run has no validation split (trained with full_train or val_size 0); use --split test")
    speed = choose_speed(device, cfg.precision, cfg.channels_last)  # as the run computed its own test numbers
    if speed.channels_last:
        loaded.model.to(memory_format=torch.channels_last)
    run = _tested_run(loaded, args) if args.split == "test" else None
    if run is not None:
        try:
            run.lock()  # one writer of results.json: not while a training run holds the directory
        except OSError:  # a read-only copy of a run: evaluate it all the same, without counting
            run = None
    try:
        with torch.no_grad():
            result = evaluate(loaded.model, loader, len(loaded.classes), device, speed.precision, confusion=True)
        if run is not None:
            _count_test_evaluation(run)
    finally:
        if run is not None:
            run.unlock()
    counts = [sum(row) for row in result["confusion"]]
    if args.format == "json":
        print(json.dumps({
            "checkpoint": str(loaded.path), "data": cfg.data, "split": args.split,
            "top1": result["top1"], "top5": result["top5"], "loss": result["loss"], "count": result["count"],
            "per_class": dict(zip(loaded.classes, result["per_class"])), "confusion": result["confusion"],
        }, indent=2))  # fmt: skip
        return 0
    rows = [(c, n, _pct(a)) for c, n, a in zip(loaded.classes, counts, result["per_class"])]
    rows.append(("all", result["count"], _pct(result["top1"])))
    if args.format in ("table", "markdown"):
        print(
            f"{cfg.data} {args.split}: top-1 {100 * result['top1']:.2f}%  top-5 {100 * result['top5']:.2f}%  "
            f"loss {result['loss']:.4f}  ({result['count']} images, {loaded.path})"
        )
    print(render_table(("class", "images", "accuracy (%)"), rows, args.format))
    return 0


def _tested_run(loaded, args: argparse.Namespace):
    """The run directory whose own test set this evaluation looks at (one with results.json), or None."""
    from cnnzoo.training.runlog import RunDir

    if args.data not in (None, loaded.config.get("data")):  # another dataset's test set, not the run's
        return None
    for candidate in (loaded.path.parent, loaded.path.parent.parent):  # RUN/model.safetensors, RUN/checkpoints/x.pt
        run = RunDir(candidate)
        if run.results.is_file() and run.checkpoints.is_dir():
            return run
    return None


def _count_test_evaluation(run) -> None:
    """Add one to results.json's test_evaluations; say so when the test set had been looked at before."""
    results = run.read_results()
    if results is None:
        return
    before = results.get("test_evaluations", 1)  # runs recorded before the count had their one final test
    if before:
        print(
            f"note: this run's test set has been evaluated {before} time(s) before; numbers from repeated test "
            "evaluations are no longer an unbiased estimate",
            file=sys.stderr,
        )
    run.write_results({**results, "test_evaluations": before + 1})


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 2)


def _few(names: list[str]) -> str:
    names = list(names)
    return ", ".join(names[:5]) + (f", ... ({len(names)})" if len(names) > 5 else "")
