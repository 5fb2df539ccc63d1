"""The model families; importing this package registers every model."""

from cnnzoo.models import alexnet, course, googlenet, nin, resnet, vgg  # noqa: F401  (registration)
from cnnzoo.models.registry import (
    ModelConfig,
    Option,
    check_model_options,
    create_model,
    get_model_config,
    list_models,
    model_options,
    option_specs,
    parse_model_options,
    register_model,
)

__all__ = [
    "ModelConfig",
    "Option",
    "check_model_options",
    "create_model",
    "get_model_config",
    "list_models",
    "model_options",
    "option_specs",
    "parse_model_options",
    "register_model",
]
