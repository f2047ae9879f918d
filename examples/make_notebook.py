"""Writes examples/quickstart.ipynb from examples/quickstart.py: one cell per `# %%` block
(`# %% [markdown]` blocks become markdown cells, their leading `# ` removed). No outputs.

Usage: python examples/make_notebook.py
"""
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def cells(script: str):
    blocks = []
    for line in script.splitlines():
        if line.startswith("# %%"):
            blocks.append(("markdown" if "[markdown]" in line else "code", []))
        elif blocks:
            blocks[-1][1].append(line)
    for kind, lines in blocks:
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        if kind == "markdown":
            lines = [l[2:] if l.startswith("# ") else l.lstrip("#") for l in lines]
        source = [l + "\n" for l in lines]
        if source:
            source[-1] = source[-1].rstrip("\n")
        cell = {"cell_type": kind, "metadata": {}, "source": source}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        yield cell


def main() -> int:
    script = (HERE / "quickstart.py").read_text(encoding="utf-8")
    notebook = {
        "cells": list(cells(script)),
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    for i, cell in enumerate(notebook["cells"]):
        cell["id"] = f"cell-{i}"
    (HERE / "quickstart.ipynb").write_text(json.dumps(notebook, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
