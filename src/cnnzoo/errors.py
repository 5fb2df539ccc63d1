"""Errors meant for people: the CLI prints them as one line and exits with status 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

MAX_MESSAGE = 600  # characters: a message quoting a huge value is cut in its middle, not printed whole


class CnnzooError(ValueError):
    """Bad input from the user (a name, a value, a file): the message says what was wrong and how to fix it."""

    def __init__(self, message: str = "", *args: object) -> None:
        if len(message) > MAX_MESSAGE:  # keep the start (what was wrong) and the end (how to fix it)
            cut = len(message) - MAX_MESSAGE
            message = f"{message[: MAX_MESSAGE // 2]} ...[{cut:,} characters cut]... {message[-MAX_MESSAGE // 2 :]}"
        super().__init__(message, *args)


def unknown_choice(kind: str, value: str, choices: Iterable[str]) -> CnnzooError:
    """An error for a name that is not among `choices`, suggesting the closest valid ones."""
    choices = sorted(choices)
    close = difflib.get_close_matches(value, choices, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    shown = ", ".join(choices) if len(choices) <= 40 else ", ".join(choices[:40]) + ", ..."
    return CnnzooError(f"unknown {kind} {value!r}.{hint} Valid choices: {shown}")


def check_choice(option: str, value: object, choices: Iterable[object]) -> None:
    """Raise a CnnzooError naming the valid choices when `value` is not one of them."""
    choices = list(choices)
    if value not in choices:
        raise CnnzooError(f"invalid {option} {value!r}; valid choices: {', '.join(map(repr, choices))}")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped a command; the CLI exits with 128 + the signal number.

    `run_dir` names the run being trained, if any, so the CLI can say how to resume it; `hint` replaces that
    advice where one run is not the whole story (several seeds or models: rerun the same command).
    """

    def __init__(self, signal_number: int = 2, run_dir: str | None = None, hint: str | None = None) -> None:
        super().__init__(signal_number, run_dir)
        self.signal_number = signal_number
        self.run_dir = run_dir
        self.hint = hint
