"""The exceptions of betahedge, one per exit code of the CLI (SPEC 3).

Every call into the compiled engine goes through :func:`call_core`, which turns the engine's
exceptions into these; keyword checks on the Python side raise :class:`InputError` directly.
"""
from __future__ import annotations

import re

__all__ = ["Error", "InputError", "NumericalError", "DeviceError"]


class Error(Exception):
    """Base of every betahedge error."""


class InputError(Error, ValueError):
    """Bad usage, config or data (the CLI's exit code 2).

    ``field`` is the field or option the message names: a book or run key such as
    ``"hedge.ratio"``, a model field such as ``"regimes[0].vol"``, a price column, or the
    keyword of the call (``"paths"``, ``"window_days"``, ``"model"``, ``"prices"``); ``None``
    when the message names none.
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class NumericalError(Error, ArithmeticError):
    """A numerical failure (exit code 3): a calibration that did not converge, a figure that
    came out NaN or infinite, memory exhausted."""


class DeviceError(Error, RuntimeError):
    """A device failure (exit code 4), e.g. ``backend="cuda"`` where no GPU is usable."""


# The CLI's options, as the engine names them in messages, and the keyword of the Python call
# that sets the same thing.
_OPTION_KEYWORDS = {
    "from": "from_",
    "dist": "dist",
    "config": "config",
    "fill": "fill",
}

# "cannot open model file", "prices file is a directory": the input the message is about.
_FILE_KINDS = (("model file", "model"), ("prices file", "prices"), ("config file", "config"))

_FIELD_TOKEN = re.compile(r"[A-Za-z_<][^\s:]*")
_OPTION = re.compile(r"--([A-Za-z][A-Za-z0-9-]*)")
_QUOTED_FIELD = re.compile(r"field '([^']*)'")
_LOCATION = re.compile(r"^(?::\d+)?:\s*")
# "no column for benchmark 'X'": the benchmark (or an asset) asked for is not in the prices.
_MISSING_COLUMN = re.compile(r"no column for (benchmark|asset)s? ")
_MISSING_COLUMN_KEYWORDS = {"benchmark": "benchmark", "asset": "assets"}
_FILE_NAME = re.compile(r"/|\.(ya?ml|json|csv|txt)$|^<.*>$")


def option_keyword(option: str) -> str:
    """The keyword for a CLI option name without its dashes: ``window-days`` -> ``window_days``."""
    return _OPTION_KEYWORDS.get(option, option.replace("-", "_"))


def field_of(message: str, sources: dict[str, str] | None = None) -> str | None:
    """The field a one-line engine message names.

    The engine's messages read ``FILE:LINE: FIELD: what``, ``FILE: FIELD: what``,
    ``FILE: field 'FIELD': what`` (model.json), ``--option: what`` or ``FIELD: what``.
    ``sources`` maps each input name the call passed (a path, or ``<dict>``-like name) to the
    keyword that supplied it; a message about such an input that names no field inside it
    gets that keyword.
    """
    sources = sources or {}
    text = message.strip()
    keyword_of_source = None
    # Longest first, so that "/a/book.yaml" is not taken for "/a/book.yaml.bak".
    for source in sorted(sources, key=len, reverse=True):
        if source and text.startswith(source + ":"):
            keyword_of_source = sources[source]
            text = _LOCATION.sub("", text[len(source):], count=1)
            break
    else:
        # A file the call did not pass by name (a book's model:, run.yaml's book:):
        # "PATH:LINE: FIELD: what" or "PATH: what".
        located = re.match(r"(?P<file>[^\s:][^:]*?)(?::\d+)?: (?P<rest>.*)$", text, re.S)
        if located and _FILE_NAME.search(located["file"]) and not text.startswith("--"):
            text = located["rest"]
            keyword_of_source = next((k for kind, k in _FILE_KINDS if kind in text), None)
    if option := _OPTION.match(text):
        return option_keyword(option[1])
    if quoted := _QUOTED_FIELD.match(text):
        return quoted[1]
    head, sep, rest = text.partition(": ")
    if head == "header" and (missing := _MISSING_COLUMN.match(rest)):
        return _MISSING_COLUMN_KEYWORDS[missing[1]]  # the keyword that asked for a column the prices lack
    if sep and _FIELD_TOKEN.fullmatch(head):
        return head
    for kind, keyword in _FILE_KINDS:
        if kind in text:
            return keyword
    return keyword_of_source


def call_core(function, *args, sources: dict[str, str] | None = None):
    """Calls a function of the compiled engine, translating its exceptions into betahedge's.

    ``sources`` (input name -> keyword) lets an InputError's field fall back to the keyword of
    the input its message is about.
    """
    from . import _core

    try:
        return function(*args)
    except _core.InputError as e:
        raise InputError(str(e), field_of(str(e), sources)) from None
    except _core.NumericalError as e:
        raise NumericalError(str(e)) from None
    except _core.DeviceError as e:
        raise DeviceError(str(e)) from None
