"""betahedge.Book: a book.yaml (SPEC 4) from a file or a dict, as the engine reads it."""
from __future__ import annotations

import copy
import datetime as _dt
import json
import numbers
import os

from . import _inputs
from .errors import InputError

__all__ = ["Book"]


def _plain(value, where: str):
    """``value`` with numpy scalars, tuples and paths made into what yaml.safe_dump writes."""
    if isinstance(value, dict):
        plain = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InputError(f"{where}: key {key!r} is not a str", where)
            plain[key] = _plain(item, f"{where}.{key}" if where else key)
        return plain
    if isinstance(value, (list, tuple)):
        return [_plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    # Exact types: numpy's float64 is a float and its int64 an Integral, but yaml.safe_dump
    # represents only the built-in types themselves.
    if value is None or type(value) in (str, bool, int, float) or isinstance(value, _dt.date):
        return value
    if type(value).__name__ == "bool_" or isinstance(value, bool):  # numpy.bool_
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise InputError(f"{where}: {type(value).__name__} {value!r} cannot be written to YAML", where or None)


def yaml_text(document: dict, where: str = "") -> str:
    """``document`` as YAML text (pyyaml's safe_dump, keys in the dict's order)."""
    import yaml

    return yaml.safe_dump(_plain(document, where), sort_keys=False, default_flow_style=False, allow_unicode=True)


def dict_source(kind: str = "dict") -> str:
    """The name a dict config goes by in messages: ``<cwd>/<dict>``, so that its relative paths
    resolve against the current directory."""
    return os.path.join(os.getcwd(), f"<{kind}>")


class Book:
    """A book: portfolio, hedge, margin, simulation, risk and stresses (book.yaml, SPEC 4).

    ``Book(path)`` reads a book.yaml; its relative ``model:`` resolves against the file's
    directory. ``Book(dict)`` takes the same document as a dict; its relative ``model:``
    resolves against the current directory when the Book is made. ``model:`` may be left out
    when the call gets its model another way (``model=``, or a backtest, which fits its own). The engine validates the book when a call uses it,
    with the CLI's messages (file, line, field); a dict's lines are those of :meth:`to_yaml`.
    """

    def __init__(self, path_or_dict):
        if isinstance(path_or_dict, Book):
            self._text, self.source, self._document = path_or_dict._text, path_or_dict.source, path_or_dict._document
            self.path = path_or_dict.path
        elif isinstance(path_or_dict, dict):
            self._document = copy.deepcopy(path_or_dict)
            self._text = yaml_text(self._document)
            self.source = dict_source()
            self.path = None
        elif _inputs.is_path(path_or_dict):
            self._text, name = _inputs.read_input_file(path_or_dict, "config file", _inputs.MAX_CONFIG_BYTES, "config")
            self._document = None  # parsed when asked for: the engine reads the text itself
            self.source = os.path.abspath(name)
            self.path = name
        else:
            raise InputError(f"config: must be a book.yaml path, a dict or a Book, got {type(path_or_dict).__name__}",
                             "config")

    def to_yaml(self) -> str:
        """The YAML text the engine reads: the file's own text, or the dict dumped."""
        return self._text

    def to_dict(self) -> dict:
        """The book as a dict (a copy)."""
        if self._document is None:
            import yaml

            try:
                document = yaml.safe_load(self._text)
            except yaml.YAMLError as e:
                mark = getattr(e, "problem_mark", None)
                line = f":{mark.line + 1}" if mark is not None else ""
                raise InputError(f"{self.source}{line}: invalid YAML: {getattr(e, 'problem', e)}", "config") from None
            if not isinstance(document, dict):
                raise InputError(f"{self.source}: must be a mapping", "config")
            self._document = document
        return copy.deepcopy(self._document)

    @property
    def model_path(self) -> str | None:
        """The book's ``model:`` resolved against its directory (or the current directory of a
        dict book), or None when it has none."""
        model = self.to_dict().get("model")
        if model is None:
            return None
        if not isinstance(model, str):
            raise InputError(f"{self.source}: model: must be a path", "model")
        return os.path.join(os.path.dirname(self.source), model)

    def __repr__(self) -> str:
        where = self.path if self.path is not None else "a dict"
        return f"<betahedge.Book from {where}>"
