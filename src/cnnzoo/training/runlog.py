"""The run directory: everything a run leaves behind, in files any tool can read.

RUN_DIR/config.yaml            the resolved config (defaults < recipe < flags)
RUN_DIR/env.json               versions, device, CPU, git commit, host, command line
RUN_DIR/metrics.csv, .jsonl    one row per epoch
RUN_DIR/tb/                    TensorBoard events
RUN_DIR/curves.png             loss and accuracy per epoch
RUN_DIR/confusion.png          the test confusion matrix
RUN_DIR/checkpoints/last.pt    resumable state after every epoch; best.pt at the best validation epoch
RUN_DIR/model.safetensors      the best weights with the model's metadata
RUN_DIR/results.json           the final numbers, the validation split's record, how often the test set was seen
RUN_DIR/.lock                  held (flock) by the process writing the run; the OS releases it when that process ends
"""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from cnnzoo.errors import CnnzooError
from cnnzoo.io import atomic_write

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; a run directory is then not protected against a second writer
    fcntl = None  # type: ignore[assignment]

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the cnnzoo package whose commit env.json records

METRIC_COLUMNS = (
    "epoch",
    "step",
    "lr",
    "train_loss",
    "train_acc",
    "val_loss",
    "val_top1",
    "val_top5",
    "time",
    "images_per_s",
)


def default_run_dir(runs_root: str | Path, model: str, data: str) -> Path:
    """runs/<model>-<data>-<YYYYmmdd-HHMMSS>, with a suffix if two runs start in the same second."""
    base = Path(runs_root) / f"{model}-{data}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def run_holding(weights: Path) -> RunDir | None:
    """The run directory a weights file belongs to (RUN/model.safetensors, RUN/checkpoints/x.pt), or None."""
    for candidate in (weights.parent, weights.parent.parent):
        run = RunDir(candidate)
        if run.config.is_file() and run.checkpoints.is_dir():
            return run
    return None


class RunDir:
    """Paths and writers of one run directory."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.checkpoints = self.path / "checkpoints"
        self.last = self.checkpoints / "last.pt"
        self.best = self.checkpoints / "best.pt"
        self.safetensors = self.path / "model.safetensors"
        self.config = self.path / "config.yaml"
        self.env = self.path / "env.json"
        self.metrics_csv = self.path / "metrics.csv"
        self.metrics_jsonl = self.path / "metrics.jsonl"
        self.results = self.path / "results.json"
        self.tb = self.path / "tb"
        self.curves = self.path / "curves.png"
        self.confusion = self.path / "confusion.png"
        self.lock_file = self.path / ".lock"
        self._tb_writer = None
        self._lock_fd: int | None = None

    # ------------------------------------------------------------ creation
    def create(self, *, resume: bool = False) -> None:
        """Make the directory, prove it is writable and lock it, before any training; refuse to overwrite a run."""
        if not resume and self.last.exists():
            self.lock()  # a run still writing is "in use", not "already holds a run"
            self.unlock()
            raise CnnzooError(
                f"{self.path} already holds a run; continue it with --resume {self.path} or pick another --run-dir"
            )
        try:
            self.checkpoints.mkdir(parents=True, exist_ok=True)
            probe = self.checkpoints / f".write-test-{os.getpid()}"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as err:
            raise CnnzooError(f"run directory {self.path} is not writable: {err.strerror or err}") from None
        self.lock()

    # ------------------------------------------------------------ one writer at a time
    def lock(self) -> None:
        """Hold RUN_DIR/.lock for this process; another live holder is a one-line error naming its pid.

        flock locks belong to the open file: the OS drops them when the holder exits or is killed, so a lock
        file left by a dead process never blocks anyone.
        """
        if fcntl is None or self._lock_fd is not None:
            return
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise CnnzooError(
                f"{self.path} is in use by another cnnzoo process (pid {holder}); wait for it to end "
                "or give another run directory"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def unlock(self) -> None:
        """Release the lock (closing the file releases it; the file stays, holding no meaning)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def write_config(self, config: dict) -> None:
        text = yaml.safe_dump(config, sort_keys=False, default_flow_style=None)
        atomic_write(self.config, lambda f: f.write(text.encode()))

    def write_env(self, device: Any, speed: Any = None) -> None:
        """env.json: what produced the run, and the precision it chose (`device.SpeedSetting`) with the reason."""
        env = environment(device)
        if speed is not None:
            env["precision"] = {"used": speed.precision, "channels_last": speed.channels_last, "why": speed.why}
        atomic_write(self.env, lambda f: f.write(json.dumps(env, indent=2).encode()))

    # ------------------------------------------------------------ metrics
    def rewrite_metrics(self, history: list[dict]) -> None:
        """Make metrics.csv/jsonl hold exactly these rows (a resumed run drops rows after its checkpoint)."""
        csv_text = io.StringIO()
        writer = csv.DictWriter(csv_text, fieldnames=METRIC_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in history:
            writer.writerow(_csv_row(row))
        jsonl = "".join(json.dumps(_json_row(row)) + "\n" for row in history)
        atomic_write(self.metrics_csv, lambda f: f.write(csv_text.getvalue().encode()))
        atomic_write(self.metrics_jsonl, lambda f: f.write(jsonl.encode()))

    def append_metrics(self, row: dict) -> None:
        """One more epoch's row, by an atomic rewrite: a failed write (a full disk) cannot leave half a row."""
        self.rewrite_metrics([*self.read_metrics(), row])

    def read_metrics(self) -> list[dict]:
        if not self.metrics_jsonl.exists():
            return []
        return [json.loads(line) for line in self.metrics_jsonl.read_text().splitlines() if line.strip()]

    # ------------------------------------------------------------ TensorBoard
    def tensorboard(self, row: dict, purge_epoch: int | None = None) -> None:
        """Log a row's scalars with the epoch as the step; a resumed run purges events after its checkpoint."""
        if self._tb_writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._tb_writer = SummaryWriter(str(self.tb), purge_step=purge_epoch)
        epoch = row["epoch"]
        for key in ("lr", "train_loss", "train_acc", "val_loss", "val_top1", "val_top5", "images_per_s"):
            value = row.get(key)
            if value is not None and math.isfinite(value):
                group = key.split("_", 1)[0] if key.startswith(("train", "val")) else "misc"
                self._tb_writer.add_scalar(f"{group}/{key}", value, epoch)
        self._tb_writer.flush()

    def tensorboard_final(self, results: dict) -> None:
        if self._tb_writer is None:
            return
        test = results.get("test") or {}
        for key in ("top1", "top5", "loss"):
            if test.get(key) is not None:
                self._tb_writer.add_scalar(f"test/{key}", test[key], results.get("epochs", 0))
        self._tb_writer.close()
        self._tb_writer = None

    def close(self) -> None:
        """Close the TensorBoard writer and release the lock."""
        if self._tb_writer is not None:
            self._tb_writer.close()
            self._tb_writer = None
        self.unlock()

    # ------------------------------------------------------------ results and plots
    def write_results(self, results: dict) -> None:
        text = json.dumps(results, indent=2)
        atomic_write(self.results, lambda f: f.write(text.encode()))

    def read_results(self) -> dict | None:
        """results.json, or None when the run has not finished; a damaged file is an error, not a missing one."""
        try:
            text = self.results.read_text()
        except FileNotFoundError:
            return None
        except OSError as err:
            raise CnnzooError(f"cannot read {self.results}: {err.strerror or err}") from None
        try:
            results = json.loads(text)
        except ValueError:
            results = None
        if not isinstance(results, dict):
            raise CnnzooError(
                f"{self.results} is not a results record (truncated or not JSON); restore it, or delete it to "
                f"test the run again with: cnnzoo train --resume {self.path}"
            )
        return results

    def plot_curves(self, history: list[dict]) -> None:
        """curves.png: loss (train, val) and accuracy (train, val top-1) per epoch."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        epochs = [r["epoch"] for r in history]
        fig = Figure(figsize=(10, 4), dpi=100)
        FigureCanvasAgg(fig)
        loss_ax, acc_ax = fig.subplots(1, 2)
        loss_ax.plot(epochs, [r["train_loss"] for r in history], label="train")
        acc_ax.plot(epochs, [100 * r["train_acc"] for r in history], label="train")
        if any(r.get("val_loss") is not None for r in history):
            loss_ax.plot(epochs, [_nan(r.get("val_loss")) for r in history], label="val")
            acc_ax.plot(epochs, [100 * _nan(r.get("val_top1")) for r in history], label="val top-1")
        loss_ax.set(xlabel="epoch", ylabel="loss", title="loss")
        acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
        for ax in (loss_ax, acc_ax):
            ax.grid(alpha=0.3)
            ax.legend()
        fig.tight_layout()
        atomic_write(self.curves, lambda f: fig.savefig(f, format="png"))

    def plot_confusion(self, confusion: list[list[int]], classes: list[str], title: str = "test") -> None:
        """confusion.png: counts, rows true class, columns predicted; labels when there are few classes."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        n = len(classes)
        size = min(4 + 0.4 * n, 16)
        fig = Figure(figsize=(size, size), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        image = ax.imshow(confusion, cmap="Blues")
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        if n <= 30:
            ax.set_xticks(range(n), classes, rotation=90)
            ax.set_yticks(range(n), classes)
        if n <= 15:
            peak = max(max(row) for row in confusion) or 1
            for i, row in enumerate(confusion):
                for j, v in enumerate(row):
                    ax.text(
                        j, i, str(v), ha="center", va="center", fontsize=8, color="white" if v > peak / 2 else "black"
                    )
        ax.set(xlabel="predicted", ylabel="true", title=f"confusion matrix ({title})")
        fig.tight_layout()
        atomic_write(self.confusion, lambda f: fig.savefig(f, format="png"))


def _nan(value: float | None) -> float:
    return float("nan") if value is None else value


def _json_row(row: dict) -> dict:
    return {k: row.get(k) for k in METRIC_COLUMNS}


def _csv_row(row: dict) -> dict:
    return {k: ("" if row.get(k) is None else row.get(k)) for k in METRIC_COLUMNS}


# -------------------------------------------------------------------- environment
def environment(device: Any) -> dict:
    """What produced the run: versions, hardware, source commit, host and command line."""
    import torch

    import cnnzoo

    device = torch.device(device)
    env = {
        "cnnzoo": cnnzoo.__version__,
        "torch": torch.__version__,
        "torchvision": _torchvision_version(),
        "python": platform.python_version(),
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name(),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        **git_state(),
        "hostname": socket.gethostname(),
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv and sys.argv[0] else [],
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    return env


def _torchvision_version() -> str | None:
    """torchvision's version without importing it when nothing else has (its import costs seconds)."""
    if "torchvision" in sys.modules:
        return sys.modules["torchvision"].__version__
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("torchvision")
    except PackageNotFoundError:
        return None


def cpu_name() -> str:
    """The CPU's model name, for the record of where a number was measured."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_state(package_dir: Path = PACKAGE_DIR) -> dict:
    """{'git_commit', 'git_dirty'} of the checkout cnnzoo is imported from; both None when it is not one.

    A repository that merely contains the source (an unpacked sdist inside someone's project, a venv inside a
    repo) is not cnnzoo's checkout: the commit counts only if that repository tracks the package's own files.
    `git_dirty` says whether the package's files differ from that commit.
    """
    none = {"git_commit": None, "git_dirty": None}
    top = _git(package_dir, "rev-parse", "--show-toplevel")
    if top is None or _git(Path(top), "ls-files", "--error-unmatch", str(package_dir / "__init__.py")) is None:
        return none
    commit = _git(Path(top), "rev-parse", "HEAD")
    status = _git(Path(top), "status", "--porcelain", "--", str(package_dir))
    if not commit or status is None:
        return none
    return {"git_commit": commit, "git_dirty": bool(status)}


def _git(cwd: Path, *args: str) -> str | None:
    """git's stripped output, or None when git is missing or the command fails."""
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None
