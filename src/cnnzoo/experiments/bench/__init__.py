"""`cnnzoo bench`: the benchmark suite, each mode measured side by side in one invocation.

    throughput          training and inference images/s: cnnzoo's engine, a plain PyTorch loop,
                        torchvision's (and timm's) same architecture          (throughput.py)
    time-to-accuracy    cnnzoo's speedrun recipes against airbench94 on the same data    (time_to_accuracy.py)
    mfu                 ResNet-50 training images/s and model FLOP utilisation           (mfu.py)

Each mode has a GPU setting (the defaults) and a CPU smoke setting (`--smoke`, tiny sizes, run by CI), and
writes `benchmarks/results/<mode>_<device>.json` and `.md` (report.py).
"""

# What the modes measure in: bf16 autocast (the speed setting) or fp32 (CPU smoke). No torch import here, so
# the CLI parser stays light.
BENCH_PRECISIONS = ("fp32", "bf16")
