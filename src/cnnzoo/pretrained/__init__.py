"""Pretrained weights: other projects' checkpoints imported, cnnzoo's shared as folders and on the Hub.

    sources.py              the table: each publisher's URL, licence, file layout, names, networks, claims
    importers.py            import_checkpoint / load_pretrained / write_imported: a file becomes a cnnzoo checkpoint
    torchvision_weights.py  what torchvision's weights enums say about a file (network, classes, accuracy)
    timm_config.py          timm's model.safetensors + config.json
    folder.py               save_pretrained / read_pretrained: config.json, model.safetensors, README.md model card
    hub.py                  hf-hub:ORG/REPO ids and push_to_hub (huggingface_hub, an optional extra)
"""

from cnnzoo.pretrained.folder import pretrained_model, read_pretrained, save_pretrained
from cnnzoo.pretrained.hub import push_to_hub
from cnnzoo.pretrained.importers import import_checkpoint, load_pretrained, write_imported
from cnnzoo.pretrained.sources import SOURCES

__all__ = [
    "SOURCES", "import_checkpoint", "load_pretrained", "pretrained_model", "push_to_hub", "read_pretrained",
    "save_pretrained", "write_imported",
]
