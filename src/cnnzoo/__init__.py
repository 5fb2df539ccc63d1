"""cnnzoo: the classic CNN image classifiers, built from their papers' tables, trained fast on small images.

    create_model, list_models, get_model_config, model_options   the model registry (like timm)
    summary                                                      a layer table, equal to torchinfo's
    train, TrainConfig                                           train a model; returns the results
    load                                                         a trained model, ready to predict
"""

from cnnzoo.errors import CnnzooError
from cnnzoo.inspect.summary import summary
from cnnzoo.models import ModelConfig, create_model, get_model_config, list_models, model_options
from cnnzoo.training.checkpoint import load
from cnnzoo.training.config import TrainConfig
from cnnzoo.training.engine import train

__version__ = "0.1.0"

__all__ = [
    "CnnzooError",
    "ModelConfig",
    "TrainConfig",
    "__version__",
    "create_model",
    "get_model_config",
    "list_models",
    "load",
    "model_options",
    "summary",
    "train",
]
