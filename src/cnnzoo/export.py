"""Export a trained model to ONNX, TorchScript or a torch.export ExportedProgram, and check the file.

Each file carries what a deployment needs to feed the model: its input size, mean, std and class names, as
the JSON strings `cnnzoo` (the checkpoint's model metadata) and `config` (the training image size, which
decides how `predict` resizes). ONNX stores them in `metadata_props`; TorchScript and ExportedProgram files
as extra files of those names. After writing, the file is run on a random batch and its outputs compared
with PyTorch's, so a broken export is caught when it is made, not when it is deployed.

ONNX goes through PyTorch's own exporter (`torch.onnx.export(dynamo=True)`, which needs onnxscript) and is
checked with onnxruntime; `cnnzoo.load("model.onnx")` runs it through onnxruntime again, with the
preprocessing its metadata describes. TorchScript is traced (`torch.jit.trace`), which PyTorch deprecates in
favour of torch.export but C++ programs still load.
"""

from __future__ import annotations

import errno
import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn

from cnnzoo.errors import CnnzooError, check_choice
from cnnzoo.io import atomic_write, check_output_folder, write_error_message
from cnnzoo.predict import EXPORTED_KINDS, LoadedModel, describe_kind, file_kind, load, require_optional, run_exported
from cnnzoo.training.checkpoint import META_KEYS, find_checkpoint

# format -> the file name an export gets by default (in the run directory, or next to the checkpoint)
FORMATS = {"onnx": "model.onnx", "torchscript": "model.torchscript.pt", "exported-program": "model.pt2"}
TOLERANCE = 1e-4  # the largest absolute difference from PyTorch's float32 logits an export may show
MIN_OPSET = 18  # the lowest opset torch.onnx's exporter writes; it silently keeps 18 when asked for less


@dataclass(frozen=True)
class ExportResult:
    """What `export_model` wrote and how closely the file reproduces PyTorch's outputs."""

    path: Path
    format: str
    max_abs_diff: float
    check_batch: int  # the size of the random batch both were run on

    @property
    def verified(self) -> bool:
        return self.max_abs_diff <= TOLERANCE


def export_model(
    checkpoint_or_run_dir: str | Path,
    format: str = "onnx",
    output: str | Path | None = None,
    dynamic_batch: bool = False,
    opset: int | None = None,
    force: bool = False,
) -> ExportResult:
    """Export a run's best weights (or a checkpoint's) to `format`, then run the file and compare with PyTorch.

    The file goes to `output`, or by default into the run directory (next to a checkpoint outside a run). An
    existing file is overwritten only with `force`, and a run's own checkpoints never. Without `dynamic_batch`
    the file takes batches of exactly one image; with it, any batch size (checked on a batch of 3 after
    exporting with 2). A difference above `TOLERANCE` is a warning, not an error: the file is kept for inspection.
    """
    check_choice("format", format, FORMATS)
    if opset is not None and format != "onnx":
        raise CnnzooError(f"--opset applies to ONNX only; drop it for --format {format}")
    source = find_checkpoint(checkpoint_or_run_dir)
    kind = file_kind(source)
    if kind in EXPORTED_KINDS:
        raise CnnzooError(
            f"{source} is {describe_kind(kind)}, made for other runtimes; export from the run "
            "directory or the checkpoint it was made from"
        )
    run_dir = source.parent.parent if source.parent.name == "checkpoints" else None
    path = Path(output) if output else (run_dir or source.parent) / FORMATS[format]
    check_output(path, format, source, run_dir, force)
    loaded = load(source)
    generator = torch.Generator().manual_seed(0)
    shape = (loaded.in_chans, *loaded.image_size)
    example = torch.randn(2 if dynamic_batch else 1, *shape, generator=generator)
    serialize = {"onnx": _onnx_bytes, "torchscript": _torchscript_bytes, "exported-program": _exported_program_bytes}
    # In memory first: torch.export.save aborts the process (no exception) when a write to its file fails
    data = serialize[format](loaded.model, example, export_metadata(loaded), dynamic_batch, opset)
    try:
        atomic_write(path, lambda f: f.write(data))
    except OSError as err:  # a full or read-only disk: one line naming the file; nothing is left behind
        fix = "free space or give another --output" if err.errno == errno.ENOSPC else "give another --output"
        raise CnnzooError(f"{write_error_message(err)}; {fix}") from None

    check = torch.randn(3 if dynamic_batch else 1, *shape, generator=generator)
    with torch.no_grad():
        expected = loaded.model(check)
        got = run_exported(path, format)(check)
    diff = float((got - expected).abs().max())
    if diff > TOLERANCE:
        warnings.warn(
            f"{path} differs from the PyTorch model by up to {diff:.3g} on a random batch (more than "
            f"{TOLERANCE:g}); check it before deploying it",
            stacklevel=2,
        )
    return ExportResult(path=path, format=format, max_abs_diff=diff, check_batch=len(check))


def check_output(path: Path, format: str, source: Path, run_dir: Path | None, force: bool) -> None:
    """Refuse, before any work, to write over the checkpoint exported from or a run's checkpoints (even with
    `force`), over a folder, or over any other existing file without `force`, and into a folder that is a
    file or cannot be written."""
    if path.is_dir():
        raise CnnzooError(f"--output {path} is a folder; give a file name, e.g. {path / FORMATS[format]}")
    check_output_folder(path.parent, "--output's folder")
    if not path.exists():
        return
    own = [source, *(run_dir / "checkpoints").glob("*"), run_dir / "model.safetensors"] if run_dir else [source]
    if any(path.resolve() == mine.resolve() for mine in own if mine.exists()):
        raise CnnzooError(
            f"--output {path} is the run's own checkpoint, which the export would destroy; give "
            "another path, e.g. the default (leave --output out)"
        )
    if not force:
        raise CnnzooError(f"{path} exists; pass --force to overwrite it, or give another --output")


def export_metadata(loaded: LoadedModel) -> dict[str, str]:
    """The preprocessing that travels with an exported file, as strings (ONNX metadata_props take only strings)."""
    meta = {key: getattr(loaded, key) for key in META_KEYS}
    if loaded.mean_image is not None:  # normalize="pixel": C×H×W numbers, a flat JSON list
        meta["mean_image"] = loaded.mean_image
    return {"cnnzoo": json.dumps(meta), "config": json.dumps({"image_size": loaded.config.get("image_size")})}


# -------------------------------------------------------------------- serializers
def _onnx_bytes(
    model: nn.Module,
    example: torch.Tensor,
    metadata: dict[str, str],
    dynamic_batch: bool,
    opset: int | None,
) -> bytes:
    onnx = require_optional("onnx", "onnxscript")
    latest = onnx.defs.onnx_opset_version()
    if opset is not None and not MIN_OPSET <= opset <= latest:
        raise CnnzooError(f"--opset must be between {MIN_OPSET} and {latest} (the onnx package's newest), got {opset}")
    dynamic_shapes = ({0: torch.export.Dim("batch")},) if dynamic_batch else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on its internals, not the user's business
        program = torch.onnx.export(
            model,
            (example,),
            None,
            dynamo=True,
            opset_version=opset,
            verbose=False,
            input_names=["input"],
            output_names=["logits"],
            dynamic_shapes=dynamic_shapes,
        )
    proto = program.model_proto
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    return proto.SerializeToString()


def _torchscript_bytes(
    model: nn.Module,
    example: torch.Tensor,
    metadata: dict[str, str],
    dynamic_batch: bool,
    opset: int | None,
) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit's deprecation: TorchScript was asked for by name
        traced = torch.jit.trace(model, example)
        buffer = io.BytesIO()
        torch.jit.save(traced, buffer, _extra_files=metadata)
    return buffer.getvalue()


def _exported_program_bytes(
    model: nn.Module,
    example: torch.Tensor,
    metadata: dict[str, str],
    dynamic_batch: bool,
    opset: int | None,
) -> bytes:
    dynamic_shapes = ({0: torch.export.Dim("batch")},) if dynamic_batch else None
    program = torch.export.export(model, (example,), dynamic_shapes=dynamic_shapes)
    buffer = io.BytesIO()
    torch.export.save(program, buffer, extra_files=metadata)
    return buffer.getvalue()
