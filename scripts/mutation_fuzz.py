#!/usr/bin/env python3
"""Mutation fuzz of the command line on the demo inputs: the audit's method, kept runnable.

Each trial copies configs/demo (book, model, run) and a slice of data/demo_prices.csv into a
scratch directory, mutates one or two things (a number made extreme, a line deleted or
repeated, a key renamed, bytes inserted), runs one command on them with few paths, and checks
the contract of SPEC 3 and the hardening issue:
- the exit code is 0, 2, 3 or 4 (never 1, never a signal, never a hang past --timeout);
- a failure prints exactly one line, starting with "error:", and leaves no output behind;
- a success writes only finite numbers (no null but the two nullable keys, no nan/inf cell);
- no input file is deleted or changed.

Usage: scripts/mutation_fuzz.py BETAHEDGE_BINARY [--minutes 5] [--seed 1] [--timeout 60]
Exit status 1 when any trial broke the contract; the offending inputs are kept under
--keep (default /tmp/betahedge-mutation-fuzz).
"""
import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NULLABLE_KEYS = {"mean_first_call_day", "margin_constrained", "dof", "ewma", "kalman", "ols_r2", "regime_weighted", "rolling", "regime",
                 "forced_regime"}
EXTREMES = ["0", "-1", "1", "2", "1e308", "-1e308", "1e-308", "1e400", "nan", ".nan", ".inf", "-.inf",
            "4294967297", "4294967326", "2147483647", "18446744073709551615", "-9223372036854775809", "0.5",
            "1e15", "30", "50", "1e300", "-0", "''", "[1, 2]", "{a: 1}", "x" * 300, "0x10", "1_000"]
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")


def mutate_text(text, rng):
    lines = text.split("\n")
    kind = rng.choice(["number", "number", "number", "delete", "repeat", "bytes", "key", "truncate"])
    if kind == "number":
        spans = [m.span() for m in NUMBER.finditer(text)]
        if spans:
            a, b = rng.choice(spans)
            return text[:a] + rng.choice(EXTREMES) + text[b:]
    if kind == "delete" and len(lines) > 1:
        del lines[rng.randrange(len(lines))]
        return "\n".join(lines)
    if kind == "repeat" and lines:
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
        return "\n".join(lines)
    if kind == "key":
        keys = [m.span(1) for m in re.finditer(r"([A-Za-z_]+):", text)]
        if keys:
            a, b = rng.choice(keys)
            return text[:a] + rng.choice(["pathz", "", "[a, b]", text[a:b] + "_", "model"]) + text[b:]
    if kind == "truncate" and text:
        return text[: rng.randrange(len(text))]
    i = rng.randrange(len(text) + 1)
    junk = rng.choice(["\0", "\x01", "\xff", "\t", "\r", ",", "\"", "'", "{", "[", ":", "- ", "&a", "*a", "\n"])
    return text[:i] + junk + text[i:]


def walk_json(node, path, problems):
    if isinstance(node, dict):
        for k, v in node.items():
            if v is None and k not in NULLABLE_KEYS:
                problems.append(f"{path}.{k} is null")
            walk_json(v, f"{path}.{k}", problems)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if v is None:
                problems.append(f"{path}[{i}] is null")
            walk_json(v, f"{path}[{i}]", problems)
    elif isinstance(node, float) and (node != node or node in (float("inf"), float("-inf"))):
        problems.append(f"{path} is not finite")


def check_outputs(out, problems):
    for name in sorted(os.listdir(out)):
        path = os.path.join(out, name)
        with open(path, errors="replace") as f:
            text = f.read()
        if name.endswith(".json"):
            try:
                walk_json(json.loads(text), name, problems)
            except ValueError as e:
                problems.append(f"{name} is not JSON: {e}")
        elif name.endswith(".csv"):
            for cell in re.split(r"[,\n]", text):
                if cell.strip().lower().lstrip("+-") in ("nan", "inf", "infinity"):
                    problems.append(f"{name} holds {cell}")


def snapshot(directory):
    files = {}
    for base, _, names in os.walk(directory):
        for n in names:
            p = os.path.join(base, n)
            with open(p, "rb") as f:
                files[p] = f.read()
    return files


def trial(binary, rng, timeout, work):
    inputs = os.path.join(work, "inputs")
    os.makedirs(inputs)
    for name in ("book.yaml", "model.json", "run.yaml"):
        shutil.copy(os.path.join(ROOT, "configs", "demo", name), inputs)
    with open(os.path.join(ROOT, "data", "demo_prices.csv")) as f:
        prices = f.readlines()
    with open(os.path.join(inputs, "prices.csv"), "w") as f:
        f.writelines(prices[:400])
    with open(os.path.join(inputs, "run.yaml")) as f:
        run = f.read().replace("../../data/demo_prices.csv", "prices.csv")
    with open(os.path.join(inputs, "run.yaml"), "w") as f:
        f.write(run)
    command = rng.choice(["simulate", "simulate", "stress", "bands", "optimize", "calibrate", "run"])
    targets = {"simulate": ["book.yaml", "model.json"], "stress": ["book.yaml", "model.json"],
               "bands": ["book.yaml", "model.json"], "optimize": ["book.yaml"],
               "calibrate": ["prices.csv"], "run": ["run.yaml", "book.yaml", "prices.csv"]}[command]
    mutated = []
    for _ in range(rng.choice([1, 1, 2])):
        name = rng.choice(targets)
        path = os.path.join(inputs, name)
        with open(path, encoding="latin-1") as f:
            text = f.read()
        with open(path, "w", encoding="latin-1") as f:
            f.write(mutate_text(text, rng))
        mutated.append(name)
    before = snapshot(inputs)
    out = os.path.join(work, "out")
    if command == "calibrate":
        args = [binary, "calibrate", "--quiet", "--benchmark", "BTC", "--prices", os.path.join(inputs, "prices.csv"),
                "--starts", "2", "--out", os.path.join(out, "model.json")]
        os.makedirs(out)
    else:
        config = "run.yaml" if command == "run" else "book.yaml"
        args = [binary, command, "--quiet", "--backend", "cpu", "--paths", "400", "--config",
                os.path.join(inputs, config), "--out", out]
        if command in ("stress", "optimize"):  # the demo book's replay stresses read these prices
            args += ["--prices", os.path.join(inputs, "prices.csv")]
        if command == "optimize":
            args += ["--horizon-days", "5"]
    problems = []
    started = time.time()
    try:
        r = subprocess.run(args, capture_output=True, text=True, errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        return command, mutated, [f"hang: no answer in {timeout} s"], time.time() - started
    code = r.returncode
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    if code not in (0, 2, 3, 4):
        problems.append(f"exit {code}: {r.stderr.strip()[:300]}")
    elif code != 0:
        if len(lines) != 1 or not lines[0].startswith("error: ") or "internal" in lines[0]:
            problems.append(f"exit {code} with stderr {r.stderr.strip()[:300]!r}")
        leftovers = os.listdir(out) if os.path.isdir(out) else []
        if command != "calibrate" and os.path.exists(out) or leftovers:
            problems.append(f"exit {code} left output behind: {leftovers}")
    else:
        check_outputs(out, problems)
    if snapshot(inputs) != before:
        problems.append("an input file was changed or deleted")
    return command, mutated, problems, time.time() - started


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("binary")
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--keep", default=os.path.join(tempfile.gettempdir(), "betahedge-mutation-fuzz"))
    a = p.parse_args()
    rng = random.Random(a.seed)
    deadline = time.time() + 60 * a.minutes
    counts, failures = {}, 0
    trials = 0
    while time.time() < deadline:
        work = tempfile.mkdtemp(prefix="betahedge-mfuzz-")
        command, mutated, problems, seconds = trial(os.path.abspath(a.binary), rng, a.timeout, work)
        trials += 1
        counts[command] = counts.get(command, 0) + 1
        if problems:
            failures += 1
            keep = os.path.join(a.keep, f"trial-{trials:05d}-{command}")
            shutil.rmtree(keep, ignore_errors=True)
            shutil.copytree(os.path.join(work, "inputs"), keep)
            print(f"FAIL trial {trials} ({command}, mutated {', '.join(mutated)}): {'; '.join(problems)} -> {keep}")
        shutil.rmtree(work, ignore_errors=True)
    print(f"mutation fuzz: {trials} trials ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}), "
          f"{failures} broke the contract")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
