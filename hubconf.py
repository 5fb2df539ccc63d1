"""torch.hub entry points: one per registered cnnzoo model, made from the registry, so the lists never differ.

    model = torch.hub.load("path/to/cnnzoo", "resnet20", source="local", num_classes=10)

Keyword arguments are `cnnzoo.create_model`'s: num_classes, in_chans and the model's options (see
`cnnzoo models NAME`). cnnzoo publishes no trained weights, so `pretrained=True` is an error.
"""

import os as _os
import sys as _sys

dependencies = ["torch", "yaml"]  # what importing cnnzoo.models needs; torch.hub checks them first

_SRC = _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "src")
if _os.path.isdir(_SRC) and _SRC not in _sys.path:  # a clone that is not pip-installed
    _sys.path.insert(0, _SRC)

from cnnzoo import models as _models  # noqa: E402  (after the path above)
from cnnzoo.errors import CnnzooError as _CnnzooError  # noqa: E402


def _entry_point(name: str):
    """A hub function building `name`; its docstring is what `torch.hub.help` shows."""

    def build(pretrained: bool = False, **kwargs):
        if pretrained:
            raise _CnnzooError(f"cnnzoo has no pretrained weights for {name}; call it without pretrained=True")
        return _models.create_model(name, **kwargs)

    cfg = _models.get_model_config(name)
    build.__name__ = build.__qualname__ = name
    build.__doc__ = (
        f"cnnzoo's {name} ({cfg.paper}); input {'x'.join(map(str, cfg.input_size))}, "
        f"{cfg.num_classes} classes by default. Options: num_classes, in_chans, "
        f"{', '.join(_models.model_options(name))}."
    )
    return build


for _name in _models.list_models():
    globals()[_name] = _entry_point(_name)
