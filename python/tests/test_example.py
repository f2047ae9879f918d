"""examples/quickstart.py runs as a script and writes its two plots; the notebook holds the
same cells."""
import importlib.util
import json
import subprocess
import sys

from conftest import ROOT


def test_quickstart_runs_and_writes_its_plots(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "quickstart.py"), str(tmp_path / "q")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for name in ("pnl_distribution.png", "hedge_ratio_curve.png"):
        assert (tmp_path / "q" / name).read_bytes().startswith(b"\x89PNG")


def test_notebook_has_the_scripts_cells():
    spec = importlib.util.spec_from_file_location("make_notebook", ROOT / "examples" / "make_notebook.py")
    make_notebook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_notebook)
    script = (ROOT / "examples" / "quickstart.py").read_text(encoding="utf-8")
    notebook = json.loads((ROOT / "examples" / "quickstart.ipynb").read_text(encoding="utf-8"))
    strip = lambda cell: {k: cell[k] for k in ("cell_type", "source")}
    assert [strip(c) for c in notebook["cells"]] == [strip(c) for c in make_notebook.cells(script)]
