"""cnnzoo: the classic CNN image classifiers, built from their papers' tables, trained fast on small images.

    create_model, list_models, get_model_config, model_options   the model registry (like timm)
    summary                                                      a layer table, equal to torchinfo's
    arch_tables                                                  the papers' architecture tables of models
    train, TrainConfig                                           train a model; returns the results
    evaluate_run                                                 a trained run on its test split (or other data)
    load                                                         a trained model, ready to predict (a run, a
                                                                 checkpoint, a pretrained folder, hf-hub:ORG/REPO)
    export_model                                                 a trained model as ONNX, TorchScript or .pt2
    load_pretrained, save_pretrained, push_to_hub                other projects' checkpoints in, shareable folders out

These names are imported on first use (PEP 562), so `import cnnzoo`, `cnnzoo --help` and `cnnzoo --version`
do not pay the second it takes to import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnnzoo.errors import CnnzooError
from cnnzoo.lazy import lazy_getattr

__version__ = "0.1.0"  # the one place: pyproject.toml reads it (dynamic version)

# public name -> the module that defines it
_LAZY = {
    "ModelConfig": "cnnzoo.models",
    "create_model": "cnnzoo.pretrained",  # the registry's, plus pretrained=DIR
    "get_model_config": "cnnzoo.models",
    "list_models": "cnnzoo.models",
    "model_options": "cnnzoo.models",
    "summary": "cnnzoo.inspect.summary",
    "arch_tables": "cnnzoo.inspect.archtable",
    "load": "cnnzoo.predict",
    "TrainConfig": "cnnzoo.training.config",
    "train": "cnnzoo.training.train",
    "evaluate_run": "cnnzoo.training.evaluate",
    "export_model": "cnnzoo.export",
    "load_pretrained": "cnnzoo.pretrained",
    "save_pretrained": "cnnzoo.pretrained",
    "push_to_hub": "cnnzoo.pretrained",
}

if TYPE_CHECKING:  # type checkers and IDEs see the names as if imported eagerly
    from cnnzoo.export import export_model
    from cnnzoo.inspect.archtable import arch_tables
    from cnnzoo.inspect.summary import summary
    from cnnzoo.models import ModelConfig, get_model_config, list_models, model_options
    from cnnzoo.predict import load
    from cnnzoo.pretrained import create_model, load_pretrained, push_to_hub, save_pretrained
    from cnnzoo.training.config import TrainConfig
    from cnnzoo.training.evaluate import evaluate_run
    from cnnzoo.training.train import train

__all__ = ["CnnzooError", "__version__", *sorted(_LAZY)]


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
