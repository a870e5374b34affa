"""Errors a user can act on.

Every error raised because of bad *input* (a file, a value on the command line)
is an :class:`InputError`. The CLI prints it as one red line and exits with code 2;
nothing from deep inside torch ever reaches the user for bad input.
"""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """Bad user input, located as precisely as possible (``path:line: message``)."""

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None):
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        super().__init__(self.location_message())

    def location_message(self) -> str:
        """``path:line: message`` with whatever location parts are known."""
        where = ""
        if self.path is not None:
            where = self.path + (f":{self.line}" if self.line is not None else "") + ": "
        return where + self.message
