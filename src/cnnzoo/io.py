"""Files written so that a crash or a full disk never leaves half of one: atomic writes, the umask, OS errors.

One copy each, shared by checkpoints, the run directory, reports and the tensor cache.
"""

from __future__ import annotations

import errno
import os
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cnnzoo.errors import CnnzooError


def plain_file_mode() -> int:
    """The mode a plain `open` gives a new file (0666 less the umask): mkstemp's 0600 would hide runs and caches."""
    mask = os.umask(0o022)  # reading the umask means setting it; set it straight back
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: str | Path, write: Callable[[Any], None]) -> None:
    """Call `write(file)` on a temporary file next to `path`, then move it into place durably.

    The file gets the mode a plain `open` would give (0666 less the umask), not mkstemp's 0600. A failed
    write (a full disk) leaves the old file as it was and raises an OSError that names `path`, even when
    the writer (torch.save) wrapped the OS error in a RuntimeError.
    """
    path = Path(path)
    tmp = None
    try:  # making the folder and the temporary file too: their errors also name `path`, not a .tmp name
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with signals_deferred():  # Ctrl-C and SIGTERM wait for a whole file
            with os.fdopen(fd, "wb") as f:
                os.chmod(tmp, plain_file_mode())  # by path: os.fchmod exists on Windows only from Python 3.13
                write(f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)  # after closing: Windows cannot replace a file that is still open
    except BaseException as err:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        cause = os_error(err)
        if cause is not None and isinstance(err, Exception):
            raise OSError(cause.errno, cause.strerror or os.strerror(cause.errno or 0), str(path)) from err
        raise
    _fsync_dir(path.parent)


def os_error(err: BaseException) -> OSError | None:
    """The OSError behind `err` (itself, or what it was raised from or during), if any."""
    for _ in range(8):  # a chain is short; the bound guards against a cycle
        if err is None:
            break
        if isinstance(err, OSError) and err.errno is not None:
            return err
        err = err.__cause__ or err.__context__
    return None


def write_error_message(err: OSError) -> str:
    """'no space left on device while writing PATH': an OSError of a write, for people."""
    reason = "no space left on device" if err.errno == errno.ENOSPC else (err.strerror or str(err)).lower()
    return f"{reason} while writing {err.filename}" if err.filename else reason


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX); directories cannot be opened this way on Windows."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is done, then take their usual course.

    torch.save interrupted halfway raised "[enforce fail at inline_container.cc] unexpected pos" instead of
    the interruption; a write that finishes first leaves a whole file and the usual "interrupted" line.
    Only the main thread can handle signals; elsewhere the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, lambda number, frame: caught.append(number))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if caught:
            handler = previous[caught[0]]
            if callable(handler):
                handler(caught[0], None)  # e.g. Python's KeyboardInterrupt, or the CLI's SIGTERM handler
            elif handler == signal.SIG_DFL:
                signal.raise_signal(caught[0])


def check_output_folder(folder: str | Path, option: str = "--out") -> Path:
    """`folder`, made sure before any work that it can be made and written into (it is created when written).

    A file in its place or above it, a read-only folder or disk is a one-line error naming `option`, not a
    traceback after all the training. The check writes and removes a temporary file in the folder, or in the
    nearest folder above it that exists; it creates nothing.
    """
    folder = Path(folder)
    existing = next(p for p in (folder, *folder.parents) if p.exists() or p.is_symlink())
    if not existing.is_dir():
        where = "is" if existing == folder else f"cannot be made: {existing} is"
        raise CnnzooError(f"{option} {folder} {where} a file, not a folder; give a folder to write into")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        reason = (err.strerror or type(err).__name__).lower()
        raise CnnzooError(
            f"cannot write into {option} {folder} ({reason} in {existing}); give a folder you can write to"
        ) from None
    return folder
