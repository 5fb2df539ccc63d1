"""cnnzoo's training loop against a plain PyTorch loop on the CPU, with epochs long enough to compare them.

`cnnzoo bench throughput --device cpu` measures a grid of 7 settings × 5 models with 4 steps an epoch, so that
it ends in minutes; at that length one epoch's start-up and the machine's drift move a ratio by ±10% (its
committed engine/plain ratios range from 0.89 to 1.11, the engine "faster" as often as slower). This runs only
the two settings where the engine is measured — fp32 NCHW and the CPU default, bf16 channels-last, 2 threads
each — on the models where the grid's ratio fell under 0.95, with many more steps per epoch: the engine and the
plain loop in turn (engine, plain, plain, engine), the mean of the two medians each, as the grid does.

    python benchmarks/engine_vs_plain.py                   # writes benchmarks/results/engine_vs_plain/
    python benchmarks/engine_vs_plain.py --steps 8 --out /tmp/check   # a quick look
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from cnnzoo.experiments.bench import throughput


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", help="bench models (default: resnet20 and resnet56)")
    parser.add_argument("--steps", type=int, default=24, help="training steps per epoch (default: 24)")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs after a warm-up one (default: 3)")
    parser.add_argument("--out", default="benchmarks/results/engine_vs_plain", help="result folder")
    args = parser.parse_args(argv)
    setting = replace(
        throughput.CPU,
        models=throughput.select_models(args.model or ["resnet20", "resnet56"], throughput.CPU_MODELS),
        variants=tuple(v for v in throughput.CPU_VARIANTS if v.engine),
        steps=args.steps,
        epochs=args.epochs,
        mfu=False,
    )
    command = "python benchmarks/engine_vs_plain.py " + " ".join(argv if argv is not None else sys.argv[1:])
    record = throughput.run(setting, smoke=False, command=command.strip(), out_dir=args.out, progress=print)
    for row in record["rows"]:
        if row["system"] == "cnnzoo engine":
            print(f"{row['model']:>10}  {row['setting']:<40} engine {row['train_ratio']:.3f}× plain loop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
