"""`cnnzoo` with a tiny BatchNorm-free model registered, for the multi-process tests (torchrun runs this file).

Without BatchNorm or dropout, a rank's shard of a batch gives exactly its share of the batch's gradient, so 2
processes and 1 process take the same steps up to the order of float sums. CNNZOO_TEST_CRASH_RANK=R makes rank
R raise in its second training step, to test that the other ranks are stopped instead of hanging.
"""

from __future__ import annotations

import os
import sys

import torch.nn as nn
import torch.nn.functional as F

from cnnzoo.cli import main
from cnnzoo.models.registry import CIFAR_CFG, register_model
from cnnzoo.training import distributed


class TinyNoBN(nn.Module):
    """Conv → ReLU → global average pool → linear: no BatchNorm, no dropout."""

    def __init__(self, num_classes: int = 10, in_chans: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_chans, 8, 3, padding=1)
        self.fc = nn.Linear(8, num_classes)
        self.steps = 0

    def forward(self, x):
        if self.training:
            self.steps += 1
            if self.steps == 2 and os.environ.get("CNNZOO_TEST_CRASH_RANK") == str(distributed.rank()):
                raise RuntimeError(f"rank {distributed.rank()} crashed on purpose")
        return self.fc(F.adaptive_avg_pool2d(F.relu(self.conv(x)), 1).flatten(1))


def register() -> str:
    """Register TinyNoBN as `tiny_ddp_net`; returns the name."""

    @register_model(CIFAR_CFG, builds=TinyNoBN)
    def tiny_ddp_net(**options) -> TinyNoBN:
        return TinyNoBN(**options)

    return "tiny_ddp_net"


if __name__ == "__main__":
    register()
    distributed.ENTRY = [os.path.abspath(__file__)]  # `--nproc N` starts this file again, with the model
    sys.exit(main())
