"""Images per second on CIFAR-10: cnnzoo's device-resident fast path vs torchvision's per-image DataLoader.

Side by side in one run, batch 512, the standard augmentation (random 32×32 crop of the image zero-padded by 4,
horizontal flip, normalisation):

| pipeline | per batch |
|---|---|
| cnnzoo DeviceLoader | the split as one cached uint8 tensor: gather rows, gather columns (flip folded in), |
| | one multiply-subtract to normalise |
| torchvision, JPEG | ImageFolder: open and decode each file, RandomCrop(32, padding=4), RandomHorizontalFlip, |
| | ToTensor, Normalize — the usual pipeline, decoding included |
| torchvision, in memory | the same uint8 images in memory, `Image.fromarray` per image (as torchvision's CIFAR10 |
| | does), then the same transforms — decoding left out |

torchvision runs with workers=0 and workers=2. Every row is timed after its first batch (so worker start-up and
first allocations are left out), over a fixed number of images. Results go to benchmarks/results/ with the
machine's CPU, load, versions and date. Not a test: figures depend on the machine and on what else runs on it.

    python benchmarks/data_loading.py                      # CPU, the shared JPEG copy
    python benchmarks/data_loading.py --device cuda --out benchmarks/results/data_loading_cuda.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import PIL
import torch
import torchvision
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T

from cnnzoo.data import Augment, DeviceLoader, channel_stats, load_split
from cnnzoo.training.runlog import cpu_name

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("CNNZOO_CIFAR10_JPEG", REPO.parent / "shared" / "datasets" / "cifar10-jpeg"))


def timed(batches: Iterable, images: int, sync: bool) -> tuple[int, float]:
    """(images, seconds) over about `images` images, timed from the end of the first batch."""
    iterator = iter(batches)
    next(iterator)  # warm-up: worker start-up, first allocations
    count, start = 0, time.perf_counter()
    for _, y in iterator:
        count += len(y)
        if count >= images:
            break
    if sync:
        torch.cuda.synchronize()
    return count, time.perf_counter() - start


class InMemory(Dataset):
    """uint8 HWC arrays → PIL image per item → transforms, as torchvision.datasets.CIFAR10 does."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform) -> None:
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        return self.transform(PIL.Image.fromarray(self.images[index])), int(self.labels[index])


def torchvision_transform(mean, std, cutout: int = 0):
    steps = [T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(mean, std)]
    if cutout:
        area = cutout**2 / 32**2
        steps.append(T.RandomErasing(p=1.0, scale=(area, area), ratio=(1.0, 1.0), value=0))
    return T.Compose(steps)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="CIFAR-10 in ImageFolder layout")
    parser.add_argument("--cache-dir", type=Path, help="cnnzoo cache (default: $CNNZOO_CACHE or ~/.cache/cnnzoo)")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--fast-epochs", type=float, default=2.0, help="epochs timed for the fast path")
    parser.add_argument("--torchvision-batches", type=int, default=20, help="batches timed per torchvision row")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "data_loading_cpu.md")
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    sync = device.type == "cuda"
    load_before = os.getloadavg()
    start = time.perf_counter()
    train = load_split("imagefolder", "train", args.data_dir, cache_dir=args.cache_dir)
    load_seconds = time.perf_counter() - start
    start = time.perf_counter()
    train = load_split("imagefolder", "train", args.data_dir, cache_dir=args.cache_dir)
    cached_seconds = time.perf_counter() - start
    mean, std = channel_stats(train)
    batch = args.batch_size
    fast_images = int(args.fast_epochs * len(train))
    tv_images = args.torchvision_batches * batch

    rows: list[tuple[str, str, int, float]] = []  # pipeline, workers/threads, images, seconds

    def report(name: str, setting: str, images: int, seconds: float) -> None:
        rows.append((name, setting, images, seconds))
        rate = f"{images / seconds:>10,.0f} images/s  ({images} in {seconds:.2f} s)"
        print(f"{name:<52} {setting:<12} {rate}", flush=True)

    threads = torch.get_num_threads()
    for augment, label in ((Augment(4, True), "crop+flip"), (Augment(4, True, 8), "crop+flip+cutout 8")):
        for n_threads in sorted({threads, 1}, reverse=True):
            torch.set_num_threads(n_threads)
            loader = DeviceLoader(
                train, batch, device=device, mean=mean, std=std, shuffle=True, augment=augment, drop_last=True
            )

            def epochs(loader=loader):
                for epoch in range(int(np.ceil(args.fast_epochs)) + 1):
                    loader.set_epoch(epoch)
                    yield from loader

            report(f"cnnzoo DeviceLoader, {label}", f"{n_threads} thread(s)", *timed(epochs(), fast_images, sync))
    torch.set_num_threads(threads)

    folder = torchvision.datasets.ImageFolder(str(args.data_dir / "train"), transform=torchvision_transform(mean, std))
    hwc = train.images.permute(0, 2, 3, 1).contiguous().numpy()
    memory = InMemory(hwc, train.labels.numpy(), torchvision_transform(mean, std))
    memory_cutout = InMemory(hwc, train.labels.numpy(), torchvision_transform(mean, std, cutout=8))
    for dataset, label in (
        (folder, "torchvision ImageFolder (JPEG decode), crop+flip"),
        (memory, "torchvision in-memory uint8 (PIL), crop+flip"),
        (memory_cutout, "torchvision in-memory uint8 (PIL), +cutout 8"),
    ):
        for workers in (0, 2):
            loader = DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers, drop_last=True,
                                pin_memory=sync)  # fmt: skip

            def moved(loader=loader):
                for x, y in loader:
                    yield x.to(device, non_blocking=True), y.to(device, non_blocking=True)

            report(label, f"workers={workers}", *timed(moved(), tv_images, sync))
    load_after = os.getloadavg()

    command = " ".join(["python benchmarks/data_loading.py", *(sys.argv[1:] if argv is None else argv)])
    rate = {(name, setting): images / seconds for name, setting, images, seconds in rows}
    fast = rate[("cnnzoo DeviceLoader, crop+flip", f"{threads} thread(s)")]
    fast_one = rate[("cnnzoo DeviceLoader, crop+flip", "1 thread(s)")]
    tv_rates = {key: r for key, r in rate.items() if key[0].startswith("torchvision") and "cutout" not in key[0]}
    best_key = max(tv_rates, key=tv_rates.get)
    jpeg0 = rate[("torchvision ImageFolder (JPEG decode), crop+flip", "workers=0")]
    lines = [
        f"# Data loading on {device.type.upper()}: cnnzoo fast path vs torchvision DataLoader "
        f"(CIFAR-10 train, batch {batch})",
        "",
        f"- Date: {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- CPU: {cpu_name()}, {os.cpu_count()} logical CPUs; torch threads {threads}, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}; load average {load_before[0]:.1f} "
        f"before, {load_after[0]:.1f} after (a load above the CPU count means other jobs shared the machine)",
        f"- Python {platform.python_version()}, torch {torch.__version__}, torchvision {torchvision.__version__}, "
        f"Pillow {PIL.__version__}, numpy {np.__version__}",
        f"- Data: {args.data_dir} (50,000 train JPEGs). cnnzoo split load: {load_seconds:.1f} s "
        f"({'decoded and cached' if load_seconds > 5 * cached_seconds else 'from the cache'}), "
        f"then {cached_seconds:.2f} s from the tensor cache",
        f"- Timed after the first batch; fast path over {fast_images:,} images, each torchvision row over "
        f"{tv_images:,} images. Command: `{command}`",
        "",
        "| pipeline | setting | images | seconds | images/s | × torchvision JPEG, workers=0 |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, setting, images, seconds in rows:
        speed = images / seconds
        lines.append(f"| {name} | {setting} | {images:,} | {seconds:.2f} | {speed:,.0f} | {speed / jpeg0:.1f}× |")
    lines += [
        "",
        f"Fast path (crop+flip, {threads} thread(s)) vs the best torchvision row ({best_key[0]}, {best_key[1]}): "
        f"**{fast / tv_rates[best_key]:.1f}×**; on one thread: {fast_one / tv_rates[best_key]:.1f}×. "
        "Target: at least 5×.",
        "",
    ]
    text = "\n".join(lines)
    print("\n" + text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
