"""What the calls return: the files the CLI would write, parsed on demand, and the per-path
outcomes of the base scenario as numpy arrays."""
from __future__ import annotations

import collections.abc
import io
import json
import os
import shutil
import tempfile

from .errors import InputError

__all__ = ["Result", "RiskResult", "RunResult", "BacktestResult", "Outcomes"]


def write_text_atomically(path: str, text: str) -> None:
    """Writes ``text`` to ``path`` by a temporary file in the same directory and a rename."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def render_report(directory: str, final_dir: str) -> None:
    """Renders report.html into ``directory`` with betahedge.report, the renderer the CLI uses.
    Raises InputError (field ``report``) when the package has no renderer or it rejects the
    files."""
    try:
        from . import report
    except ImportError as e:
        raise InputError(f"report: this installation has no report renderer (betahedge.report: {e}); "
                         "write the files without report=True", "report") from None
    try:
        report.render(directory, final_dir)
    except report.InputError as e:
        raise InputError(f"report: {e}", "report") from None


class Result:
    """The outcome of a call: ``files`` (name -> text, as the CLI writes them, without its
    manifest.json), ``summary`` (the main JSON file as a dict), ``tables`` (each CSV as a
    DataFrame, keyed by its name without ``.csv``) and ``warnings``."""

    _summary_file = "summary.json"

    def __init__(self, files: dict, warnings, model=None):
        self.files = dict(files)
        self.warnings = list(warnings)
        self._model = model
        self._summary = None
        self._tables = None

    @property
    def summary(self) -> dict:
        if self._summary is None:
            self._summary = json.loads(self.files[self._summary_file])
        return self._summary

    @property
    def tables(self) -> dict:
        if self._tables is None:
            import pandas as pd

            self._tables = {name[:-len(".csv")]: pd.read_csv(io.StringIO(text))
                            for name, text in self.files.items() if name.endswith(".csv")}
        return self._tables

    @property
    def model(self):
        """The Model the call calibrated or simulated."""
        if callable(self._model):
            self._model = self._model()
        return self._model

    def write(self, out_dir, *, report: bool = False, overwrite: bool = False) -> str:
        """Writes ``files`` into the directory ``out_dir``, complete or not at all (staged
        beside it, then renamed), and with ``report=True`` renders report.html there with
        betahedge.report. An existing non-empty ``out_dir`` is replaced only with
        ``overwrite=True``. Returns the directory's path."""
        out_dir = os.path.abspath(os.fspath(out_dir))
        if os.path.lexists(out_dir):
            if not os.path.isdir(out_dir) or os.path.islink(out_dir):
                raise InputError(f"out_dir: '{out_dir}' exists and is not a directory", "out_dir")
            if os.listdir(out_dir) and not overwrite:
                raise InputError(f"out_dir: '{out_dir}' is not empty; pass overwrite=True to replace it", "out_dir")
        parent = os.path.dirname(out_dir)
        os.makedirs(parent, exist_ok=True)
        staged = tempfile.mkdtemp(prefix=f".{os.path.basename(out_dir)}.", dir=parent)
        try:
            for name, text in self.files.items():
                with open(os.path.join(staged, name), "w", encoding="utf-8", newline="") as f:
                    f.write(text)
            if report:
                render_report(staged, out_dir)
            os.chmod(staged, 0o755)
            if os.path.lexists(out_dir):
                old = tempfile.mkdtemp(prefix=f".{os.path.basename(out_dir)}.old.", dir=parent)
                os.replace(out_dir, os.path.join(old, "d"))
                os.replace(staged, out_dir)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(staged, out_dir)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
        return out_dir

    def __repr__(self) -> str:
        return f"<betahedge.{type(self).__name__} files: {', '.join(self.files)}; {len(self.warnings)} warnings>"


class Outcomes(collections.abc.Mapping):
    """The base scenario's per-path outcomes: name -> 1-D float64 array of shape (paths,), each
    a read-only view into one (columns, paths) array that the engine filled (no copies).

    Columns (include/betahedge/path_types.hpp, PathOutcome): ``pnl_unhedged``, ``pnl_hedged``
    (base currency, over the horizon), ``collateral_shortfall`` (least starting collateral with
    no call on the path), ``min_equity``, ``first_call_step`` (1-based, -1 if none),
    ``liquidated`` (0/1), ``costs``, ``rebalances``, ``beta_deviation``; ``collateral`` is the
    starting collateral the paths ran with.
    """

    def __init__(self, columns, values, collateral: float):
        values.flags.writeable = False
        self.columns = list(columns)
        self.array = values
        """The (columns, paths) float64 array every column views."""
        self.collateral = float(collateral)
        self._index = {name: i for i, name in enumerate(self.columns)}

    def __getitem__(self, name):
        return self.array[self._index[name]]

    def __iter__(self):
        return iter(self.columns)

    def __len__(self):
        return len(self.columns)

    @property
    def paths(self) -> int:
        return self.array.shape[1]

    def to_frame(self):
        """A DataFrame with one column per outcome, one row per path (pandas may copy)."""
        import pandas as pd

        return pd.DataFrame(self.array.T, columns=self.columns, copy=False)

    def __repr__(self) -> str:
        return f"<betahedge.Outcomes {self.paths} paths: {', '.join(self.columns)}>"


class RiskResult(Result):
    """simulate, stress, optimize or bands: summary.json and the command's tables, and the base
    scenario's per-path ``outcomes``, computed on first access with the same inputs."""

    def __init__(self, command: str, files: dict, warnings, model, outcomes_fn):
        super().__init__(files, warnings, model)
        self.command = command
        self._outcomes_fn = outcomes_fn
        self._outcomes = None

    def write(self, out_dir, *, report: bool = False, overwrite: bool = False) -> str:
        """As :meth:`Result.write`. report.html is the overnight job's page (the committee
        summary, scenarios, hedge-ratio curve, bands, regimes) and needs all of a run's files:
        ``report=True`` raises InputError (field ``report``) here; render it from
        :func:`betahedge.run`'s result."""
        if report:
            raise InputError(f"report: report.html needs the overnight job's files (bands.csv, "
                             f"hedge_ratio_curve.csv, model.json, ...), not {self.command}'s; use "
                             "betahedge.run(...).write(out_dir) for a report", "report")
        return super().write(out_dir, overwrite=overwrite)

    @property
    def outcomes(self) -> Outcomes:
        if self._outcomes is None:
            self._outcomes = self._outcomes_fn()
        return self._outcomes


class RunResult(Result):
    """The overnight job (``betahedge run``): model.json (and regimes.csv when calibrated),
    summary.json, the tables, and backtest.json/backtest.csv when run.yaml has a backtest."""

    def __init__(self, files: dict, warnings, report: bool):
        from .model import Model

        super().__init__(files, warnings,
                         lambda: Model(files["model.json"], source="<run model>", regimes_csv=files.get("regimes.csv")))
        self.report = report
        """run.yaml's ``report:``: whether ``write`` renders report.html unless told."""

    def write(self, out_dir, *, report: bool | None = None, overwrite: bool = False) -> str:
        """As :meth:`Result.write`; ``report=None`` renders report.html when run.yaml's
        ``report:`` says so (its default: true), as ``betahedge run`` does."""
        return super().write(out_dir, report=self.report if report is None else report, overwrite=overwrite)

    @property
    def backtest(self) -> dict | None:
        """backtest.json as a dict, or None when the run had no backtest."""
        text = self.files.get("backtest.json")
        return None if text is None else json.loads(text)


class BacktestResult(Result):
    """The walk forward: ``summary`` is backtest.json, ``tables["backtest"]`` backtest.csv, and
    ``lines`` the per-level result lines the CLI prints."""

    _summary_file = "backtest.json"

    def __init__(self, files: dict, warnings, lines):
        super().__init__(files, warnings)
        self.lines = list(lines)
