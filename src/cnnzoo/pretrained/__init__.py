"""Pretrained weights: other projects' checkpoints imported, cnnzoo's shared as folders and on the Hub.

sources.py              the table: each publisher's URL, licence, file layout, names, networks, claims
importers.py            import_checkpoint / load_pretrained / write_imported: a file becomes a cnnzoo checkpoint
torchvision_weights.py  what torchvision's weights enums say about a file (network, classes, accuracy)
timm_config.py          timm's model.safetensors + config.json
format.py               read_pretrained: a folder's config.json and model.safetensors, local or hf-hub:
folder.py               save_pretrained (with its README.md model card), push_to_hub, pretrained_model
hub.py                  hf-hub:ORG/REPO ids and snapshots (huggingface_hub, an optional extra)
"""

from cnnzoo.pretrained.folder import create_model, pretrained_model, push_to_hub, save_pretrained
from cnnzoo.pretrained.format import read_pretrained
from cnnzoo.pretrained.importers import import_checkpoint, load_pretrained, write_imported
from cnnzoo.pretrained.sources import SOURCES

__all__ = [
    "SOURCES",
    "create_model",
    "import_checkpoint",
    "load_pretrained",
    "pretrained_model",
    "push_to_hub",
    "read_pretrained",
    "save_pretrained",
    "write_imported",
]
