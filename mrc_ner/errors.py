"""Errors a user can act on.

Every error raised because of bad *input* (a file, a value on the command line)
is an :class:`InputError`. The CLI prints it as one red line and exits with code 2;
nothing from deep inside torch ever reaches the user for bad input.
"""

from __future__ import annotations

import os


class InputError(ValueError):
    """Bad user input, located as precisely as possible (``path:line: message``)."""

    def __init__(self, message: str, *, path: str | os.PathLike | None = None, line: int | None = None):
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


class MrcNerWarning(UserWarning):
    """Something a user should know that does not stop the run (the CLI prints it as one yellow line)."""


#: longest value (a line, a repr) an error message quotes before cutting it
QUOTE_LIMIT = 200


def shorten(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis (for quoting input in errors).

    >>> shorten("x" * 300, 10)
    'xxxxxxxxx…'
    """
    text = " ".join(str(text).split("\n"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def as_input_error(error: BaseException) -> InputError | None:
    """The :class:`InputError` an error from reading or writing files amounts to; None for a bug.

    ``OSError`` (missing, unreadable or unwritable paths, a full disk), safetensors' and
    JSON decoding errors and torch's shape mismatches on loading weights are problems of
    the files, not of the program; they keep their path when the error names one.
    """
    import json

    if isinstance(error, InputError):
        return error
    if isinstance(error, OSError):
        path = error.filename
        reason = error.strerror or str(error) or type(error).__name__
        if error.filename2 is not None:
            reason += f" (→ {error.filename2})"
        return InputError(f"cannot read or write: {reason}", path=path)
    if isinstance(error, json.JSONDecodeError):
        return InputError(f"invalid JSON: {error.msg} (line {error.lineno}, column {error.colno})")
    if isinstance(error, UnicodeError):
        return InputError(f"not valid UTF-8: {error}")
    if type(error).__name__ == "SafetensorError":
        if "serializ" in str(error).lower() and "deserializ" not in str(error).lower():
            return InputError(f"cannot write the weights: {error}")
        return InputError(f"corrupt weights file: {error}")
    if isinstance(error, RuntimeError) and "Error(s) in loading state_dict" in str(error):
        return InputError(f"weights do not fit the model: {str(error).splitlines()[-1].strip()}")
    return None
