"""The rules of `--resume`, in one place for the API and the CLI: which run, which config, whether it is done.

A run continues from RUN/checkpoints/last.pt with the config saved in it; only where data is read from and
how progress shows may change (RESUME_OVERRIDABLE). A run whose results.json was written for the epoch its
last.pt holds is finished: resuming it returns its recorded results instead of training or testing again.
"""

from __future__ import annotations

from pathlib import Path

from cnnzoo.errors import CnnzooError
from cnnzoo.training.checkpoint import read_checkpoint
from cnnzoo.training.config import TrainConfig, coerce, normalise_keys, resolve_config
from cnnzoo.training.runlog import RunDir

# Fields a resumed run may change: where things are read from and how progress is shown, nothing that
# changes the arithmetic.
RESUME_OVERRIDABLE = (
    "data_dir",
    "cache_dir",
    "download",
    "workers",
    "log_every",
    "tensorboard",
    "plots",
    "checkpoint_every",
)
# Fields a resumed run ignores when given: the run directory is the resumed one, and where new runs would go
# or which recipe file was named says nothing about this run's arithmetic.
RESUME_IGNORED = ("run_dir", "runs_root", "recipe")


def resume_run_dir(path: str | Path) -> Path:
    """The run directory `--resume PATH` continues: PATH itself, or the run whose checkpoints/last.pt PATH is.

    Only last.pt holds where training stopped (optimiser, schedule, RNG states); best.pt is an earlier epoch's.
    """
    path = Path(path)
    if not path.is_file():
        return path
    if path.name == "last.pt" and path.parent.name == "checkpoints":
        return path.parent.parent
    hint = "; to start a new run from its weights, pass --init-from" if path.suffix == ".pt" else ""
    raise CnnzooError(f"--resume takes a run directory or its checkpoints/last.pt, not {path}{hint}")


def check_resume_flags(given: list[str]) -> None:
    """Settings given beside --resume that it would have to ignore are an error naming them."""
    refused = [name for name in given if name.startswith("-") or name not in RESUME_OVERRIDABLE]
    if refused:
        flags = ", ".join(n if n.startswith("-") else "--" + n.replace("_", "-") for n in refused)
        raise CnnzooError(f"--resume continues a run with its saved config; drop {flags} (or start a new run)")


def read_last(run: RunDir) -> dict:
    """The run's last.pt, which a resumable run must have."""
    if not run.last.is_file():
        raise CnnzooError(f"cannot resume {run.path}: no checkpoints/last.pt there")
    return read_checkpoint(run.last)


def resumed_config(saved: dict, given: TrainConfig | dict | str | Path | None, run_path: Path) -> TrainConfig:
    """The checkpoint's config; a given config may only change where data lives and how progress shows."""
    origin = f"the config saved in {run_path}"
    values = TrainConfig.from_dict(saved, origin=origin).to_dict()  # older runs' values in today's form
    if given is not None:
        if isinstance(given, dict):
            changes = {key: coerce(key, value) for key, value in normalise_keys(given).items()}
        else:
            changes = resolve_config(given).to_dict()
        for key, value in changes.items():
            if values.get(key) != value and key not in RESUME_OVERRIDABLE and key not in RESUME_IGNORED:
                raise CnnzooError(
                    f"--resume continues a run with its saved config; {key} cannot change "
                    f"(saved {values.get(key)!r}, given {value!r}). Start a new run instead"
                )
            if key in RESUME_OVERRIDABLE:
                values[key] = value
    values["run_dir"] = str(run_path)
    return TrainConfig.from_dict(values, origin=origin)


def finished_results(run_dir: str | Path, last_epoch: int | None = None) -> dict | None:
    """The recorded results of a finished run, or None when it has more to do.

    A run is finished when results.json was written for the epoch its last.pt holds (`last_epoch`, read from
    last.pt when not given): results.json is written only after the last checkpoint, never before.
    """
    run = RunDir(run_dir)
    results = run.read_results()
    if results is None or "test" not in results or not run.last.is_file():
        return None
    if last_epoch is None:
        last_epoch = read_checkpoint(run.last)["epoch"]
    return results if results.get("epochs") == last_epoch else None
