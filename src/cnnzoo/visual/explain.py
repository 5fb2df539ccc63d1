"""What a trained network looks at: Grad-CAM overlays, the first layer's filters, per-stage feature maps.

Grad-CAM (Selvaraju et al. 2017) weights the last spatial layer's feature maps by the mean gradient of a class
score and keeps the positive part: where the evidence for that class lies. It is computed by captum
(`LayerGradCam`), the PyTorch team's interpretability library, whose only dependencies (torch, numpy,
matplotlib, tqdm, packaging) cnnzoo already has. The filters grid is AlexNet's fig. 3 for any model whose
first layer is a convolution; the feature maps show, for one image, the most active channels at the end of
each stage (each resolution the network passes through).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from cnnzoo.errors import CnnzooError

MAPS_PER_STAGE = 8


@dataclass
class Explained:
    """What `explain` wrote: the overlay of each image, the filters grid (if any) and the feature maps."""

    overlays: list[Path]
    filters: Path | None
    feature_maps: Path | None
    layer: str


# ------------------------------------------------------------------------------------------- the layers
def _capture(model: nn.Module, x: torch.Tensor, names: list[str] | None = None) -> dict[str, torch.Tensor]:
    """One forward pass, keeping the output of each named module (every submodule by default), in the order they
    finish; a module called twice (a shared ReLU) counts where it finished last."""
    modules = dict(model.named_modules())
    captured: dict[str, torch.Tensor] = {}

    def keep(name: str, output: Any) -> None:
        if torch.is_tensor(output):
            captured.pop(name, None)
            captured[name] = output.detach()

    hooks = [
        modules[name].register_forward_hook(lambda m, i, o, name=name: keep(name, o))
        for name in (names if names is not None else [n for n in modules if n])
    ]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return captured


def _outputs_in_order(model: nn.Module, x: torch.Tensor) -> list[tuple[str, tuple[int, ...]]]:
    """(module name, output shape) for every submodule, in the order they finish during one forward pass."""
    return [(name, tuple(out.shape)) for name, out in _capture(model, x).items()]


def default_layer(model: nn.Module, x: torch.Tensor) -> str:
    """Grad-CAM's usual layer: the last one whose output is still a spatial map (more than 1×1)."""
    spatial = [name for name, shape in _outputs_in_order(model, x) if len(shape) == 4 and shape[2] * shape[3] > 1]
    if not spatial:
        raise CnnzooError(
            "this model has no layer with a spatial output larger than 1x1, so Grad-CAM has nothing to show"
        )
    return spatial[-1]


def stage_ends(model: nn.Module, x: torch.Tensor) -> list[str]:
    """The last module at each spatial resolution (above 1×1) the network passes through: the end of each stage."""
    last: dict[tuple[int, int], str] = {}
    for name, shape in _outputs_in_order(model, x):
        if len(shape) == 4 and shape[2] * shape[3] > 1:  # a 1×1 map (after global pooling) shows nothing
            last.pop(shape[2:], None)  # re-inserted: the dict keeps the order in which the stages end
            last[shape[2:]] = name
    return list(last.values())


def _module(model: nn.Module, name: str) -> nn.Module:
    modules = dict(model.named_modules())
    if name not in modules:
        raise CnnzooError(f"the model has no layer {name!r}; layer names are as in `cnnzoo summary`, e.g. layer3")
    return modules[name]


def _without_inplace(model: nn.Module) -> nn.Module:
    """ReLUs that overwrite their input would overwrite the activations Grad-CAM differentiates."""
    for module in model.modules():
        if isinstance(module, nn.ReLU):
            module.inplace = False
    return model


# ------------------------------------------------------------------------------------------- Grad-CAM
def grad_cam(model: nn.Module, x: torch.Tensor, classes: list[int], layer: str | None = None) -> torch.Tensor:
    """Grad-CAM maps of one image (1×C×H×W) for each class, upsampled to H×W, each scaled to [0, 1]."""
    from cnnzoo.visual import require

    attr = require("captum.attr")
    model = _without_inplace(model.eval())
    layer = layer or default_layer(model, x)
    cam = attr.LayerGradCam(logits_of(model), _module(model, layer))
    maps = []
    for target in classes:
        heat = cam.attribute(x, target=int(target), relu_attributions=True)
        heat = attr.LayerAttribution.interpolate(heat, tuple(x.shape[2:]), interpolate_mode="bilinear")[0, 0]
        heat = heat.clamp(min=0).detach().float()
        peak = heat.max()
        maps.append(heat / peak if peak > 0 else heat)
    return torch.stack(maps)


def logits_of(model: nn.Module):
    """The model's forward, keeping only the logits of a model that returns more (auxiliary heads)."""

    def forward(x: torch.Tensor) -> torch.Tensor:
        out = model(x)
        return out[0] if isinstance(out, (tuple, list)) else out

    return forward


def overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """An H×W×3 image in [0, 1] with a heat map laid over it in the jet colours (red: where the class is)."""
    from matplotlib import colormaps

    colours = colormaps["jet"](heat)[..., :3]
    return np.clip((1 - alpha) * image + alpha * colours, 0, 1)


def display_image(loaded: Any, x: torch.Tensor) -> np.ndarray:
    """A preprocessed image (C×H×W) back in [0, 1] as H×W×3, for showing under its heat map."""
    mean, std = loaded.stats
    mean = torch.as_tensor(mean, dtype=torch.float32)
    mean = mean if mean.dim() == 3 else mean[:, None, None]
    image = (x.cpu().float() * torch.tensor(std, dtype=torch.float32)[:, None, None] + mean).clamp(0, 1)
    image = image.expand(3, -1, -1) if image.shape[0] == 1 else image[:3]
    return image.permute(1, 2, 0).numpy()


# ------------------------------------------------------------------------------------------- pictures
def filters_grid(model: nn.Module, scale: int = 0) -> np.ndarray | None:
    """The first layer's filters as one image (AlexNet's fig. 3), or None if the first layer is not a convolution."""
    first = next((m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))), None)
    if not isinstance(first, nn.Conv2d):
        return None
    weights = first.weight.detach().float().cpu()
    if weights.shape[1] not in (1, 3):
        weights = weights.mean(1, keepdim=True)  # other channel counts: their mean, in grey
    low = weights.amin(dim=(1, 2, 3), keepdim=True)
    high = weights.amax(dim=(1, 2, 3), keepdim=True)
    weights = ((weights - low) / (high - low).clamp(min=1e-12)).expand(-1, 3, -1, -1)  # each filter on its own range
    n, _, kh, kw = weights.shape
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    scale = scale or max(1, 48 // max(kh, kw))  # each filter at least ~48 pixels wide, blocky as its weights are
    cell_h, cell_w = kh * scale + 2, kw * scale + 2
    grid = np.full((rows * cell_h + 2, cols * cell_w + 2, 3), 0.5, dtype=np.float32)  # grey between filters
    for i in range(n):
        tile = weights[i].permute(1, 2, 0).numpy().repeat(scale, 0).repeat(scale, 1)
        r, c = divmod(i, cols)
        grid[2 + r * cell_h : 2 + r * cell_h + kh * scale, 2 + c * cell_w : 2 + c * cell_w + kw * scale] = tile
    return grid


def save_image(array: np.ndarray, path: Path) -> Path:
    """An H×W×3 array in [0, 1] as a PNG."""
    from PIL import Image

    from cnnzoo.io import atomic_write

    image = Image.fromarray((np.clip(array, 0, 1) * 255).round().astype(np.uint8))
    atomic_write(path, lambda f: image.save(f, format="PNG"))
    return path


def _figure(rows: int, cols: int, size: float = 2.2):
    from cnnzoo.visual.figures import new_figure

    fig, _ = new_figure(1, width=size * cols, height=size * rows)
    fig.clear()
    return fig, fig.subplots(rows, cols, squeeze=False)


def overlay_figure(image: np.ndarray, heats: torch.Tensor, titles: list[str], path: Path, heading: str = "") -> Path:
    """The image, then one Grad-CAM overlay per class with its title, side by side, as a PNG."""
    from cnnzoo.visual.figures import save_figure

    fig, axes = _figure(1, 1 + len(heats))
    panels = [(image, heading or "image")] + [(overlay(image, h.numpy()), t) for h, t in zip(heats, titles)]
    for ax, (picture, title) in zip(axes[0], panels):
        ax.imshow(picture, interpolation="nearest" if picture.shape[0] < 64 else "bilinear")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    return save_figure(fig, path)


def feature_maps_figure(model: nn.Module, x: torch.Tensor, path: Path) -> Path:
    """For one image, the most active channels at the end of each stage: one row per stage."""
    from cnnzoo.visual.figures import save_figure

    names = stage_ends(model, x)
    captured = _capture(model, x, names)
    fig, axes = _figure(len(names), MAPS_PER_STAGE, size=1.4)
    for row, name in zip(axes, names):
        maps = captured[name][0].float().cpu()
        order = maps.mean(dim=(1, 2)).argsort(descending=True)[:MAPS_PER_STAGE]
        for j, ax in enumerate(row):
            ax.axis("off")
            if j < len(order):
                ax.imshow(maps[order[j]].numpy(), cmap="viridis", interpolation="nearest")
        c, h, w = maps.shape
        row[0].set_title(f"{name}: {h}×{w}×{c}", fontsize=8, loc="left")
    return save_figure(fig, path)


# ------------------------------------------------------------------------------------------- a run
def explain(
    checkpoint_or_run_dir: str | Path,
    images: list[str | Path],
    out_dir: str | Path,
    *,
    topk: int = 3,
    layer: str | None = None,
    device: str = "cpu",
) -> Explained:
    """Grad-CAM overlays of the top-k classes for each image, the first layer's filters, the first image's feature maps."""
    from cnnzoo.predict import load

    loaded = load(checkpoint_or_run_dir, device=device)
    if not isinstance(loaded.model, nn.Module) or next(loaded.model.parameters(), None) is None:
        raise CnnzooError(f"{loaded.path} runs outside PyTorch; explain a run directory or a .pt checkpoint")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = _without_inplace(loaded.model.float().eval())
    k = min(topk, len(loaded.classes))
    overlays, first = [], None
    names = file_names(images)
    for path, name in zip(images, names):
        x = loaded.preprocess(path).unsqueeze(0).to(next(model.parameters()).device)
        first = x if first is None else first
        layer = layer or default_layer(model, x)
        probs = logits_of(model)(x).softmax(1)[0].detach().cpu()
        values, classes = probs.topk(k)
        heats = grad_cam(model, x, classes.tolist(), layer).cpu()
        titles = [f"{loaded.classes[c]} ({100 * v:.1f}%)" for v, c in zip(values.tolist(), classes.tolist())]
        overlays.append(overlay_figure(display_image(loaded, x[0]), heats, titles, out / f"{name}_gradcam.png", name))
    grid = filters_grid(model)
    filters = save_image(grid, out / "filters.png") if grid is not None else None
    maps = feature_maps_figure(model, first, out / f"{names[0]}_features.png") if first is not None else None
    return Explained(overlays, filters, maps, layer or "")


def file_names(images: list[str | Path]) -> list[str]:
    """A name per image for its output files: its stem, or folder_stem where stems repeat (cat/0000.jpg and
    airplane/0000.jpg would otherwise write over each other's overlays)."""
    stems = [Path(p).stem for p in images]
    if len(set(stems)) == len(stems):
        return stems
    names = [f"{Path(p).parent.name}_{Path(p).stem}" for p in images]
    return names if len(set(names)) == len(names) else [f"{i}_{stem}" for i, stem in enumerate(stems)]
