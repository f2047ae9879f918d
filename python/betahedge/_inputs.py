"""Inputs as the engine takes them: files read as text, DataFrames written as the CSV a file
would hold, and the calls' keywords checked with the CLI's limits (InputError naming the
keyword)."""
from __future__ import annotations

import datetime as _dt
import math
import numbers
import os
import stat

from .errors import InputError

# The CLI's caps on its inputs (host/io/input_file.hpp) and run options
# (host/config/simulation_limits.hpp).
MAX_CONFIG_BYTES = 1 << 20
MAX_MODEL_BYTES = 16 << 20
MAX_PRICES_BYTES = 512 << 20
MIN_PATHS = 2
MAX_PATHS = 1 << 40
MAX_BATCH_SIZE = 1 << 40
MAX_SEED = 1 << 63
MAX_THREADS = 1024
MAX_HORIZON_DAYS = 3650
MAX_REGIMES = 8
BACKENDS = ("auto", "cuda", "cpu")
DISTRIBUTIONS = ("gaussian", "student-t")


def is_path(value) -> bool:
    return isinstance(value, (str, os.PathLike))


def read_input_file(path, what: str, max_bytes: int, keyword: str) -> tuple[str, str]:
    """The text of an input file and its name for messages, checked as the CLI checks it: a
    regular file (links followed) of at most ``max_bytes``, here also UTF-8 text."""
    name = os.fspath(path)
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    try:
        info = os.stat(name)
    except FileNotFoundError:
        raise InputError(f"{name}: cannot open {what} (no such file)", keyword) from None
    except OSError as e:
        raise InputError(f"{name}: cannot open {what} ({e.strerror})", keyword) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{name}: {what} is a directory, not a file", keyword)
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{name}: {what} is not a regular file (a device, FIFO or socket cannot be read)", keyword)
    if info.st_size > max_bytes:
        raise InputError(f"{name}: {what} is {info.st_size / 2**20:.1f} MiB, more than the limit of "
                         f"{max_bytes / 2**20:.0f} MiB", keyword)
    try:
        with open(name, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise InputError(f"{name}: cannot open {what} ({e.strerror})", keyword) from None
    if len(data) > max_bytes:
        raise InputError(f"{name}: {what} is more than the limit of {max_bytes / 2**20:.0f} MiB", keyword)
    try:
        return data.decode("utf-8"), name
    except UnicodeDecodeError as e:
        raise InputError(f"{name}: {what} is not UTF-8 text (byte {e.start})", keyword) from None


def whole_number(keyword: str, value, lo: int, hi: int | None = None) -> int:
    """An int (numpy integers too, never a bool) in [lo, hi]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(f"{keyword}: must be a whole number, got {value!r}", keyword)
    value = int(value)
    if value < lo or (hi is not None and value > hi):
        bound = f"{lo}..{hi}" if hi is not None else f"at least {lo}"
        raise InputError(f"{keyword}: {value} is out of range ({bound})", keyword)
    return value


def optional_whole_number(keyword: str, value, lo: int, hi: int | None = None) -> int | None:
    return None if value is None else whole_number(keyword, value, lo, hi)


def choice(keyword: str, value, options) -> str:
    if not isinstance(value, str) or value not in options:
        raise InputError(f"{keyword}: {value!r} is not one of: {', '.join(options)}", keyword)
    return value


def regime_count(keyword: str, value) -> int | None:
    """1..8, or "auto" (None for the engine)."""
    if value == "auto":
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= value <= MAX_REGIMES:
        raise InputError(f"{keyword}: {value!r} is not a regime count 1..{MAX_REGIMES} or 'auto'", keyword)
    return int(value)


def iso_date(keyword: str, value) -> str | None:
    """None, a YYYY-MM-DD string, or a date/datetime/Timestamp at midnight, as YYYY-MM-DD."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            if len(value) == 10 and _dt.date.fromisoformat(value):
                return value
        except ValueError:
            pass
        raise InputError(f"{keyword}: '{value}' is not a date (YYYY-MM-DD)", keyword)
    if isinstance(value, _dt.datetime):
        if value.time() != _dt.time(0):
            raise InputError(f"{keyword}: {value} has a time of day; give a date", keyword)
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    raise InputError(f"{keyword}: {value!r} is not a date (YYYY-MM-DD)", keyword)


def callback(keyword: str, value):
    if value is not None and not callable(value):
        raise InputError(f"{keyword}: must be a callable taking one str, or None", keyword)
    return value


def overrides(*, paths=None, horizon_days=None, seed=None, backend=None, threads=None, batch_size=None) -> dict:
    """The run options of a call, checked with the CLI's limits; absent ones are left out."""
    checked = {
        "paths": optional_whole_number("paths", paths, MIN_PATHS, MAX_PATHS),
        "horizon_days": optional_whole_number("horizon_days", horizon_days, 1, MAX_HORIZON_DAYS),
        "seed": optional_whole_number("seed", seed, 0, MAX_SEED),
        "backend": None if backend is None else choice("backend", backend, BACKENDS),
        "threads": optional_whole_number("threads", threads, 0, MAX_THREADS),
        "batch_size": optional_whole_number("batch_size", batch_size, 0, MAX_BATCH_SIZE),
    }
    return {k: v for k, v in checked.items() if v is not None}


def source_name(keyword: str, value) -> str:
    """A name for an input without a file (messages, model.json's calibration.source): a
    non-empty single line of text."""
    if not isinstance(value, str) or not value or any(c in value for c in "\r\n\0"):
        raise InputError(f"{keyword}: must be a non-empty str on one line, got {value!r}", keyword)
    return value


def prices_text(prices, keyword: str = "prices", frame_name: str | None = None) -> tuple[str, str]:
    """A prices CSV path or DataFrame as (CSV text, name for messages): a file's path, or
    ``frame_name`` (default ``<prices DataFrame>``) for a DataFrame."""
    if is_path(prices):
        return read_input_file(prices, "prices file", MAX_PRICES_BYTES, keyword)
    try:
        import pandas as pd
    except ImportError:  # pandas is a dependency; a DataFrame cannot exist without it
        pd = None
    if pd is not None and isinstance(prices, pd.DataFrame):
        return dataframe_csv(prices, keyword), frame_name if frame_name is not None else f"<{keyword} DataFrame>"
    raise InputError(f"{keyword}: must be a CSV path or a pandas DataFrame indexed by date, "
                     f"got {type(prices).__name__}", keyword)


def _date_labels(index, keyword: str) -> list[str]:
    import pandas as pd

    if isinstance(index, pd.DatetimeIndex):
        if len(index) and (index != index.normalize()).any():
            raise InputError(f"{keyword}: the DatetimeIndex has times of day; index by date "
                             "(df.index.normalize())", keyword)
        return list(index.strftime("%Y-%m-%d"))
    labels = []
    for label in index:
        if isinstance(label, str):
            labels.append(label)
        elif isinstance(label, (_dt.date, pd.Timestamp)):
            labels.append(iso_date(keyword, label))
        else:
            raise InputError(f"{keyword}: the index holds {label!r}; index the DataFrame by date "
                             "(a DatetimeIndex or ISO date strings, e.g. df.set_index('date'))", keyword)
    return labels


def dataframe_csv(frame, keyword: str = "prices") -> str:
    """The CSV text a prices file holding ``frame`` would have: ``date,<SYM>,...``, one row per
    index date, each number written with repr so that it reads back to the same double, NaN as
    an empty cell. The engine then checks it exactly as it checks a file (dates ascending,
    positive prices ...), with line numbers counting the header as line 1."""
    import numpy as np

    symbols = []
    for column in frame.columns:
        if not isinstance(column, str):
            raise InputError(f"{keyword}: column {column!r} is not a symbol (columns must be str)", keyword)
        if any(c in column for c in ',"\r\n'):
            raise InputError(f"{keyword}: column {column!r} holds a comma, quote or line break", keyword)
        symbols.append(column)
    dates = _date_labels(frame.index, keyword)
    try:
        values = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as e:
        raise InputError(f"{keyword}: the DataFrame's columns must hold numbers ({e})", keyword) from None
    lines = [",".join(["date", *symbols])]
    for date, row in zip(dates, values.tolist()):
        cells = ["" if math.isnan(x) else repr(x) for x in row]
        lines.append(",".join([date, *cells]))
    return "\n".join(lines) + "\n"
