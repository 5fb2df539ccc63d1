"""The Hugging Face Hub, for pretrained folders: `hf-hub:ORG/REPO[@REVISION]` ids and `cnnzoo push`.

huggingface_hub is an optional extra (`pip install 'cnnzoo[hub]'`), imported only here and only when a hub id
or a push asks for it. Downloads go to huggingface_hub's own cache and work offline from it (HF_HUB_OFFLINE=1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnzoo.errors import CnnzooError

HUB_PREFIX = "hf-hub:"
# What a pretrained folder holds; a timm repository's config.json and model.safetensors are among them.
FOLDER_FILES = ["config.json", "model.safetensors", "README.md"]


def is_hub_id(value: object) -> bool:
    """Whether `value` is an `hf-hub:ORG/REPO` id rather than a path."""
    return isinstance(value, str) and value.startswith(HUB_PREFIX)


def parse_hub_id(value: str) -> tuple[str, str | None]:
    """`hf-hub:ORG/REPO@REVISION` → ("ORG/REPO", "REVISION" or None); a malformed id is a one-line error."""
    repo, _, revision = value[len(HUB_PREFIX) :].partition("@")
    parts = repo.split("/")
    if len(parts) != 2 or not all(parts):
        raise CnnzooError(f"{value!r} is not a hub id; write hf-hub:ORG/REPO (optionally @REVISION)")
    return repo, revision or None


def require_hub() -> Any:
    """huggingface_hub, or a one-line error naming the extra that installs it."""
    try:
        import huggingface_hub
    except ImportError:
        raise CnnzooError(
            "hf-hub: ids and `cnnzoo push` need huggingface_hub; install it with: pip install 'cnnzoo[hub]'"
        ) from None
    return huggingface_hub


def hub_snapshot(hub_id: str, files: list[str] | None = None) -> Path:
    """The local folder holding a hub repository's `files` (a pretrained folder's by default), downloaded if needed."""
    hub = require_hub()
    repo, revision = parse_hub_id(hub_id)
    try:
        folder = hub.snapshot_download(repo, revision=revision, allow_patterns=files or FOLDER_FILES)
    except Exception as err:  # offline without a cached copy, an unknown repository, no access
        reason = " ".join(str(err).split()).split(". ")[0]
        reason = reason if len(reason) <= 160 else reason[:157] + "..."
        raise CnnzooError(f"cannot fetch {hub_id} from the Hugging Face Hub or its cache ({type(err).__name__}: "
                          f"{reason})") from None  # fmt: skip
    return Path(folder)
