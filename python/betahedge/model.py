"""betahedge.Model: a calibrated (or hand-written) model.json, with its parts as DataFrames."""
from __future__ import annotations

import copy
import io
import json
import os

from . import _inputs
from .errors import InputError, call_core

__all__ = ["Model"]

MODEL_FORMAT = "betahedge.model/1"
# The betas' columns that lead the table, in this order (SPEC 4's betas block).
_BETA_COLUMNS = ("ols", "ols_se", "ewma", "kalman")


class Model:
    """A regime-switching model in the model.json format (SPEC 4).

    Made by :func:`betahedge.calibrate` or :meth:`Model.from_json`. ``to_json()`` returns the
    text the engine wrote (or the text read), so that a model written and read back is the same
    model bit for bit. :meth:`from_json` validates the model as the CLI does; the engine checks
    it again, against the book, when a call uses it.
    """

    def __init__(self, model_json: str, *, source: str = "<model>", regimes_csv: str | None = None,
                 notes=(), warnings=()):
        try:
            document = json.loads(model_json)
        except json.JSONDecodeError as e:
            raise InputError(f"{source}: invalid JSON at line {e.lineno}: {e.msg}", "model") from None
        if not isinstance(document, dict):
            raise InputError(f"{source}: not a JSON object", "model")
        if document.get("format") != MODEL_FORMAT:
            raise InputError(f"{source}: field 'format': must be \"{MODEL_FORMAT}\"", "format")
        self._json = model_json
        self._document = document
        self._regimes_csv = regimes_csv
        self.source = source
        """The file the model was read from, or a name such as ``<calibrated model>``."""
        self.notes = list(notes)
        """The calibration's notes (its return window, the fit summary); empty when loaded."""
        self.warnings = list(warnings)
        """The calibration's warnings (e.g. a regime lasting under 3 days); empty when loaded."""

    @classmethod
    def from_json(cls, text_or_path) -> "Model":
        """A model from model.json text, or from the path of a model.json file, validated as the
        CLI validates a model it loads: a bad one raises :class:`InputError` with the CLI's
        message and ``field`` the model field it names (``"regimes[0] (calm).vol[0]"``)."""
        if isinstance(text_or_path, str) and text_or_path.lstrip().startswith("{"):
            text, name = text_or_path, "<model JSON text>"
        elif _inputs.is_path(text_or_path):
            text, name = _inputs.read_input_file(text_or_path, "model file", _inputs.MAX_MODEL_BYTES, "model")
        else:
            raise InputError(f"model: must be model.json text or a path, got {type(text_or_path).__name__}", "model")
        from . import _core

        call_core(_core.check_model, text, name, sources={name: "model"})
        return cls(text, source=name)

    def to_json(self) -> str:
        """The model.json text (what ``betahedge calibrate`` writes for the same inputs)."""
        return self._json

    def to_dict(self) -> dict:
        """The model.json document as a dict (a copy)."""
        return copy.deepcopy(self._document)

    @property
    def assets(self) -> list[str]:
        return list(self._document["assets"])

    @property
    def benchmark(self) -> str:
        return self._document["benchmark"]

    @property
    def regime_names(self) -> list[str]:
        return [r["name"] for r in self._document["regimes"]]

    @property
    def regimes(self):
        """DataFrame indexed by (regime, asset): ``mean`` and ``vol`` of daily log returns
        (decimal), and ``dof`` for a Student-t model."""
        import pandas as pd

        student_t = any(r.get("dof") is not None for r in self._document["regimes"])
        rows = []
        for r in self._document["regimes"]:
            for asset, mean, vol in zip(self.assets, r["mean"], r["vol"]):
                row = {"regime": r["name"], "asset": asset, "mean": mean, "vol": vol}
                if student_t:
                    row["dof"] = r.get("dof")
                rows.append(row)
        return pd.DataFrame(rows).set_index(["regime", "asset"])

    def correlations(self, regime) -> "pd.DataFrame":
        """The correlation matrix of a regime (its name or 0-based index), assets x assets."""
        import pandas as pd

        names = self.regime_names
        if isinstance(regime, str):
            if regime not in names:
                raise InputError(f"regime: '{regime}' is not one of: {', '.join(names)}", "regime")
            index = names.index(regime)
        elif isinstance(regime, int) and not isinstance(regime, bool) and -len(names) <= regime < len(names):
            index = regime
        else:
            raise InputError(f"regime: {regime!r} is not a regime name or an index below {len(names)}", "regime")
        corr = self._document["regimes"][index]["corr"]
        return pd.DataFrame(corr, index=pd.Index(self.assets, name="asset"), columns=self.assets)

    @property
    def transition(self):
        """P(regime j tomorrow | regime i today): rows i, columns j, labelled by name."""
        import pandas as pd

        names = self.regime_names
        return pd.DataFrame(self._document["transition"], index=pd.Index(names, name="from"), columns=names)

    @property
    def initial_probabilities(self):
        """The filtered regime distribution on the last date, a Series by regime name."""
        import pandas as pd

        return pd.Series(self._document["initial_probabilities"], index=self.regime_names, name="probability")

    @property
    def spot(self) -> dict:
        return dict(self._document["spot"])

    @property
    def betas(self):
        """DataFrame, one row per asset with betas: ``ols``, ``ols_se``, ``ewma``, ``kalman``,
        ``regime_<name>`` per regime, then the other per-asset figures of the model's betas
        block. Empty for a model without one (hand-written)."""
        import pandas as pd

        betas = self._document.get("betas") or {}
        rows = {}
        for asset, b in betas.items():
            row = {k: b[k] for k in _BETA_COLUMNS if k in b}
            for name, value in zip(self.regime_names, b.get("regime") or []):
                row[f"regime_{name}"] = value
            row.update({k: v for k, v in b.items() if k not in row and k != "regime" and not isinstance(v, (list, dict))})
            rows[asset] = row
        columns = [*_BETA_COLUMNS, *(f"regime_{n}" for n in self.regime_names)]
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame = frame.reindex(columns=columns + [c for c in frame.columns if c not in columns])
        frame.index.name = "asset"
        return frame

    @property
    def regime_probabilities(self):
        """The filtered and smoothed regime probabilities of every calibration date (regimes.csv),
        indexed by date; None for a model that was loaded rather than calibrated."""
        if self._regimes_csv is None:
            return None
        import pandas as pd

        frame = pd.read_csv(io.StringIO(self._regimes_csv), index_col="date", parse_dates=["date"])
        return frame

    @property
    def regimes_csv(self) -> str | None:
        """regimes.csv text of a calibrated model, else None."""
        return self._regimes_csv

    def write(self, path) -> None:
        """Writes model.json to ``path`` (and regimes.csv beside it, when calibrated)."""
        from .results import write_text_atomically

        path = os.fspath(path)
        directory = os.path.dirname(os.path.abspath(path))
        if self._regimes_csv is not None and os.path.abspath(path) == os.path.join(directory, "regimes.csv"):
            raise InputError(f"path: '{path}' would be overwritten by regimes.csv; choose another name", "path")
        os.makedirs(directory, exist_ok=True)
        if self._regimes_csv is not None:
            write_text_atomically(os.path.join(directory, "regimes.csv"), self._regimes_csv)
        write_text_atomically(path, self._json)

    def __repr__(self) -> str:
        names = ", ".join(self.regime_names)
        return (f"<betahedge.Model {len(self.assets)} assets ({', '.join(self.assets)}), benchmark "
                f"{self.benchmark}, {len(self.regime_names)} regimes ({names}), "
                f"{self._document.get('distribution')}>")
