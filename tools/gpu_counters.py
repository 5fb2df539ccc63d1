"""`python tools/gpu_counters.py train ARGS...`: `cnnzoo train ARGS` in this process, then torch.compile's counters.

The counters say what a compiled run really did: how many graphs were compiled and recompiled, and whether
CUDA graphs were skipped (and why: mutated inputs, CPU tensors, dynamic shapes). tools/gpu_check.sh runs
each CUDA path through this.
"""

from __future__ import annotations

import json
import sys

from torch._dynamo.utils import counters

from cnnzoo.cli import main


def compile_counters() -> dict:
    """The counters that matter for a compiled training step, as plain data."""
    keys = ("stats", "inductor", "recompiles", "graph_break", "frames")
    shown = {key: dict(counters[key]) for key in keys if counters.get(key)}
    shown["cudagraph_skips"] = {k: v for k, v in counters["inductor"].items() if "cudagraph" in k}
    return shown


if __name__ == "__main__":
    status = main(sys.argv[1:])
    print(json.dumps({"exit": status, "counters": compile_counters()}, indent=2, default=str))
    sys.exit(status)
