"""File helpers shared by the run directory and the tensor cache (one copy each)."""

from __future__ import annotations

import os


def plain_file_mode() -> int:
    """The mode a plain `open` gives a new file (0666 less the umask): mkstemp's 0600 would hide runs and caches."""
    mask = os.umask(0o022)  # reading the umask means setting it; set it straight back
    os.umask(mask)
    return 0o666 & ~mask
