"""The model families; importing this package registers every model."""

from cnnzoo.models import alexnet, googlenet, nin, resnet, vgg  # noqa: F401  (registration)
from cnnzoo.models.registry import (
    ModelConfig,
    check_model_options,
    create_model,
    get_model_config,
    list_models,
    model_options,
    parse_model_options,
    register_model,
)

__all__ = [
    "ModelConfig",
    "check_model_options",
    "create_model", "get_model_config", "list_models",
    "model_options",
    "parse_model_options",
    "register_model",
]
