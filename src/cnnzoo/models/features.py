"""Feature extraction as timm offers it: `create_model(name, features_only=True, out_indices=...)`.

Each family lists its stages in `feature_info` (timm's format: one dict per stage with the module whose output is
the stage's map, `num_chs` and `reduction`, the total stride). `FeatureExtractor` keeps the model's layers up to
the last stage asked for, under their own names, and returns the stage maps as a list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn as nn

from cnnzoo.errors import CnnzooError


class FeatureInfo:
    """The stages a feature extractor returns, as timm's `FeatureInfo`: channels, reductions, module names.

    The accessors answer for the returned stages (`out_indices`) by default, or for the stage index or indices
    given, counted over all stages of the model.
    """

    def __init__(self, info: Sequence[dict[str, Any]], out_indices: Sequence[int]) -> None:
        self.info = [dict(stage, index=i) for i, stage in enumerate(info)]
        self.out_indices = tuple(out_indices)

    def get(self, key: str, idx: int | Sequence[int] | None = None) -> Any:
        """The value of `key` for each returned stage, or for the stage(s) `idx`."""
        if idx is None:
            return [self.info[i][key] for i in self.out_indices]
        if isinstance(idx, int):
            return self.info[idx][key]
        return [self.info[i][key] for i in idx]

    def channels(self, idx: int | Sequence[int] | None = None) -> Any:
        """Channels of each returned map."""
        return self.get("num_chs", idx)

    def reduction(self, idx: int | Sequence[int] | None = None) -> Any:
        """Total stride of each returned map: input side / map side."""
        return self.get("reduction", idx)

    def module_name(self, idx: int | Sequence[int] | None = None) -> Any:
        """The model's module whose output each returned map is."""
        return self.get("module", idx)

    def __getitem__(self, idx: int) -> dict[str, Any]:
        return self.info[idx]

    def __len__(self) -> int:
        return len(self.info)


def resolve_out_indices(out_indices: int | Sequence[int] | None, num_stages: int, model: str) -> tuple[int, ...]:
    """Stage indices, sorted: None means all stages, an int n the last n (as in timm), negatives count from the end."""
    if out_indices is None:
        return tuple(range(num_stages))
    if isinstance(out_indices, int) and not isinstance(out_indices, bool):
        if not 1 <= out_indices <= num_stages:
            raise CnnzooError(f"{model}: out_indices={out_indices}, the last {out_indices} of its {num_stages} stages")
        return tuple(range(num_stages - out_indices, num_stages))
    if isinstance(out_indices, (str, bytes)) or not isinstance(out_indices, Sequence) or not out_indices:
        raise CnnzooError(f"{model}: out_indices must be stage indices such as (1, 2, 3), got {out_indices!r}")
    resolved = []
    for i in out_indices:
        if isinstance(i, bool) or not isinstance(i, int) or not -num_stages <= i < num_stages:
            raise CnnzooError(
                f"{model}: out_indices {out_indices!r}; its {num_stages} stages are 0 to {num_stages - 1}"
            )
        resolved.append(i % num_stages)
    return tuple(sorted(set(resolved)))


class FeatureExtractor(nn.Module):
    """The model's layers up to its last stage asked for; the forward returns the maps of the `out_indices` stages.

    It relies on what each family guarantees (and tests/models/test_timm_api.py checks): the model's children
    are registered in the order its forward applies them, up to its last stage. A stage inside a Sequential
    (`features.2`) cuts that Sequential there. The layers keep their names, so the model's state_dict loads into
    this one (strict=False: the classifier is gone).
    """

    def __init__(self, model: nn.Module, out_indices: int | Sequence[int] | None = None) -> None:
        super().__init__()
        name = getattr(model, "model_name", type(model).__name__)
        if not getattr(model, "feature_info", None):
            raise CnnzooError(f"{name} does not list its stages (feature_info), which features_only=True needs")
        indices = resolve_out_indices(out_indices, len(model.feature_info), name)
        self.feature_info = FeatureInfo(model.feature_info, indices)
        self.default_cfg = getattr(model, "default_cfg", None)
        self.model_name = name
        self._taps = set(self.feature_info.module_name())  # the modules whose outputs are returned
        self._expanded: set[str] = set()  # the Sequentials with stages inside, stepped through layer by layer
        remaining = set(self._taps)
        for child_name, child in model.named_children():
            inner = {tap for tap in remaining if tap.startswith(child_name + ".")}
            if inner:  # cut the Sequential after the last stage inside it
                child = child[: max(int(tap.rsplit(".", 1)[1]) for tap in inner) + 1]
                self._expanded.add(child_name)
            remaining -= inner | {child_name}
            self.add_module(child_name, child)
            if not remaining:
                break

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for name, module in self.named_children():
            if name in self._expanded:
                for index, layer in module.named_children():
                    x = layer(x)
                    if f"{name}.{index}" in self._taps:
                        features.append(x)
            else:
                x = module(x)
                if name in self._taps:
                    features.append(x)
        return features
