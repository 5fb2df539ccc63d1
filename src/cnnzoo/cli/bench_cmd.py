"""`cnnzoo bench throughput | time-to-accuracy | mfu`: the benchmark suite (cnnzoo.experiments.bench).

Each mode starts from its GPU setting, or from its CPU smoke setting with `--smoke`; the flags given replace
single values of it. Results go to `--out` (default runs/bench) as `<mode>_<device>.json` and `.md`, with the
command reconstructed from the flags given, so the file says how to measure it again. The committed results
(benchmarks/results, which the README's Speed section is made from) change only when asked: `--update-results`
or `--out benchmarks/results`.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

DEFAULT_OUT = "runs/bench"
COMMITTED_RESULTS = "benchmarks/results"  # the checkout's measured results, which the README's tables show


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add `bench` and its three modes."""
    from cnnzoo.experiments.bench import BENCH_PRECISIONS
    from cnnzoo.training.config import COMPILE_MODES

    bench = sub.add_parser(
        "bench",
        help="benchmarks: throughput, time-to-accuracy, MFU; results as JSON + Markdown",
        description="Measure cnnzoo side by side with its yardsticks in one invocation. Without --smoke each "
        "mode runs its GPU setting, except throughput on a CPU, which runs its CPU grid (long: progress and the "
        "time left on stderr); --smoke runs tiny sizes on the CPU (what CI runs).",
    )
    modes = bench.add_subparsers(dest="mode", metavar="MODE", required=True)

    def mode(name: str, help: str) -> argparse.ArgumentParser:
        p = modes.add_parser(name, help=help, description=help)
        p.add_argument("--smoke", action="store_true", help="the CPU smoke setting: tiny sizes, seconds")
        p.add_argument("--device", help="auto, cpu, cuda, cuda:N, mps (default: auto; cpu with --smoke)")
        p.add_argument("--out", help=f"directory of the result files (default: {DEFAULT_OUT})")
        p.add_argument(
            "--update-results",
            action="store_true",
            help=f"write into {COMMITTED_RESULTS}, the committed results the README shows (run from the checkout)",
        )
        p.add_argument("--compile", choices=COMPILE_MODES, help="torch.compile mode of every system (default: none)")
        p.set_defaults(run=run, bench_parser=p)
        return p

    def sizes(p: argparse.ArgumentParser) -> None:
        p.add_argument("--batch-size", type=int, help="batch size of every system (default: 256; 8 with --smoke)")
        p.add_argument(
            "--precision", choices=BENCH_PRECISIONS, help="bf16 autocast or fp32 (default: bf16; fp32 with --smoke)"
        )
        p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, help="channels-last memory format")
        p.add_argument("--steps", type=int, help="training steps per epoch")
        p.add_argument("--epochs", type=int, help="timed epochs, after one warm-up epoch")

    p = mode(
        "throughput",
        "training and inference images/s: cnnzoo's engine vs a plain loop, torchvision, timm; "
        "on a CPU (without --smoke) a grid of precisions, memory formats, compile modes and threads, with MFU",
    )
    p.add_argument("--model", action="append", metavar="NAME", help="only these bench models (repeatable)")
    sizes(p)

    p = mode("time-to-accuracy", "test accuracy and training seconds: cnnzoo's speedrun recipes vs airbench94")
    p.add_argument(
        "--recipe", action="append", metavar="YAML", help="recipes to run (repeatable; default: the speedrun ones)"
    )
    p.add_argument("--runs", type=int, help="timed runs per system (default: 3)")
    p.add_argument("--warmup-runs", type=int, help="untimed runs first (default: 1; 0 with --smoke)")
    p.add_argument("--data-dir", help="the CIFAR-10 copy both systems read, e.g. ../shared/datasets/cifar10-jpeg")
    p.add_argument("--no-airbench", dest="airbench", action="store_false", default=None, help="leave airbench94 out")

    p = mode("mfu", "ResNet-50 training images/s and model FLOP utilisation against the measured matmul peak")
    p.add_argument("--image-size", type=int, help="input side (default: 224; 32 with --smoke)")
    p.add_argument("--matmul-size", type=int, help="side of the square products that measure the peak (default: 8192)")
    sizes(p)


def command_line(args: argparse.Namespace) -> str:
    """`cnnzoo bench MODE` and the flags given, in the parser's order: how to measure the same thing again."""
    words = ["cnnzoo", "bench", args.mode]
    for action in args.bench_parser._actions:
        value = getattr(args, action.dest, None) if action.option_strings else None
        if value is None:
            continue
        if isinstance(action, argparse.BooleanOptionalAction):
            words.append(action.option_strings[0] if value else action.option_strings[1])
        elif action.nargs == 0:  # --smoke, --no-airbench: written when set
            if value != action.default:
                words.append(action.option_strings[0])
        else:
            for item in value if isinstance(value, list) else [value]:
                words += [action.option_strings[0], str(item)]
    return shlex.join(words)


def _given(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def run(args: argparse.Namespace) -> int:
    from cnnzoo.experiments.bench import mfu, throughput, time_to_accuracy

    if args.mode == "throughput":
        module, base = throughput, (throughput.SMOKE if args.smoke else throughput.default_setting(args.device))
        changes = _given(args, "batch_size", "precision", "channels_last", "compile", "steps", "epochs", "device")
        if base.variants and {"precision", "channels_last", "compile"} & set(changes):
            changes["variants"] = ()  # one setting asked for: measure it alone, with every system
        if args.model:
            changes["models"] = throughput.select_models(args.model, base.models)
    elif args.mode == "time-to-accuracy":
        module = time_to_accuracy
        base = time_to_accuracy.SMOKE if args.smoke else time_to_accuracy.TimeToAccuracySetting()
        changes = _given(args, "runs", "warmup_runs", "data_dir", "airbench", "compile", "device")
        if args.recipe:
            changes["recipes"] = tuple(args.recipe)
    else:
        module, base = mfu, (mfu.SMOKE if args.smoke else mfu.MfuSetting())
        changes = _given(
            args,
            "image_size",
            "batch_size",
            "precision",
            "channels_last",
            "compile",
            "steps",
            "epochs",
            "matmul_size",
            "device",
        )
    out = output_folder(args)
    setting = replace(base, **changes)
    extra = {"progress": _progress} if module is throughput else {}
    record = module.run(setting, smoke=args.smoke, command=command_line(args), out_dir=out, **extra)
    from cnnzoo.experiments.bench.report import table

    print(table(record))
    for item in record["skipped"]:
        print(f"not measured: {item['what']}: {item['reason']}")
    print(f"results written to {out}/")
    return 0


def output_folder(args: argparse.Namespace) -> str:
    """--out, or the committed results with --update-results, or DEFAULT_OUT: never the committed ones unasked."""
    from cnnzoo.errors import CnnzooError

    if args.update_results and args.out and Path(args.out).resolve() != Path(COMMITTED_RESULTS).resolve():
        raise CnnzooError(
            f"--update-results writes into {COMMITTED_RESULTS}; drop --out {args.out}, or "
            "--update-results to write there"
        )
    return COMMITTED_RESULTS if args.update_results else args.out or DEFAULT_OUT


def _progress(message: str) -> None:
    """What the benchmark measures next and what it found, on stderr: a CPU grid runs long."""
    print(f"bench: {message}", file=sys.stderr, flush=True)
