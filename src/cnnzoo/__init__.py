"""cnnzoo: the classic CNN image classifiers, built from their papers' tables, trained fast on small images."""

from cnnzoo.errors import CnnzooError
from cnnzoo.models import ModelConfig, create_model, get_model_config, list_models, model_options

__version__ = "0.1.0"

__all__ = [
    "CnnzooError",
    "ModelConfig",
    "__version__",
    "create_model",
    "get_model_config",
    "list_models",
    "model_options",
]
