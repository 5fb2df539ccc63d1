"""Errors meant for people: the CLI prints them as one line and exits with status 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CnnzooError(ValueError):
    """Bad input from the user (a name, a value, a file): the message says what was wrong and how to fix it."""


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

    `run_dir` names the run being trained, if any, so the CLI can say how to resume it.
    """

    def __init__(self, signal_number: int = 2, run_dir: str | None = None) -> None:
        super().__init__(signal_number, run_dir)
        self.signal_number = signal_number
        self.run_dir = run_dir
