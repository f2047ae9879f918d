#!/usr/bin/python3
"""ctest mpi.*: betahedge under `mpirun -np R` (SPEC 7), Open MPI's mpirun.

    /usr/bin/python3 tests/mpi/mpi_ranks_test.py identical BETAHEDGE MPIRUN SOURCE_DIR WORK_DIR
    /usr/bin/python3 tests/mpi/mpi_ranks_test.py errors    BETAHEDGE MPIRUN SOURCE_DIR WORK_DIR

identical: simulate, stress, optimize, bands and run on the demo (configs/demo, 20,011 paths so
that the ranks' shares differ, one thread a rank) as one plain process, then at 1, 2 and 3
ranks. Every output file but report.html is the plain process's byte for byte; summary.json and
backtest.json (run's backtest: block) apart from the run block's ranks, elapsed_s,
path_steps_per_s and device, and run.ranks is R.
Only rank 0 speaks: one "wrote" progress line, one "recommended pair" line.

errors: at 3 ranks, each rank's exit code recorded by a wrapper (so mpirun never stops the
others early), and every case within 120 s (no hang):
  - a missing model file (read by rank 0, its error sent to all);
  - an --out that rank 0 alone finds unwritable, after the simulation;
  - an error on rank 1 only: Open MPI's MPMD syntax gives rank 1 BETAHEDGE_CPU_ISA=bogus, so its
    CPU backend fails as it is made while ranks 0 and 2 succeed.
Each must end every rank with exit 2, print exactly one `error:` line and leave no output.
"""
import json
import os
import re
import shutil
import subprocess
import sys

PATHS = "20011"
TIMEOUT_S = 120
RUN_BLOCK_PER_RANK = re.compile(r'^    "(ranks|elapsed_s|path_steps_per_s|device)": .*\n', re.MULTILINE)

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL: " + message, file=sys.stderr)
    return condition


def environment():
    env = dict(os.environ)
    # Open MPI refuses to start as root without these (a CI container); set for this test only.
    env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
    env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    env.pop("BETAHEDGE_CPU_ISA", None)
    return env


def run(command, cwd):
    """Runs `command` under a hard timeout; returns (exit code, stdout, stderr); 124 on timeout."""
    try:
        done = subprocess.run(["timeout", "-k", "10", str(TIMEOUT_S)] + command, cwd=cwd, env=environment(),
                              capture_output=True, text=True)
    except OSError as e:
        return 127, "", str(e)
    return done.returncode, done.stdout, done.stderr


def commands(demo, out):
    book = ["--config", os.path.join(demo, "book.yaml")]
    # The demo book's replay stresses replay the demo prices.
    prices = ["--prices", os.path.join(demo, "..", "..", "data", "demo_prices.csv")]
    common = ["--paths", PATHS, "--threads", "1", "--backend", "cpu"]
    return {
        "simulate": ["simulate"] + book + ["--out", out("simulate")] + common,
        "stress": ["stress"] + book + prices + ["--out", out("stress")] + common + ["--quiet"],
        "optimize": ["optimize"] + book + prices + ["--out", out("optimize")] + common + ["--quiet"],
        "bands": ["bands"] + book + ["--out", out("bands")] + common + ["--quiet"],
        "run": ["run", "--config", os.path.join(demo, "run.yaml"), "--out", out("run")] + common + ["--quiet"],
    }


def compare_outputs(name, ranks, plain_dir, ranked_dir):
    if not check(os.path.isdir(ranked_dir), f"{name} at {ranks} ranks wrote no {ranked_dir}"):
        return
    plain_files = sorted(os.listdir(plain_dir))
    check(sorted(os.listdir(ranked_dir)) == plain_files,
          f"{name} at {ranks} ranks wrote {sorted(os.listdir(ranked_dir))}, one process {plain_files}")
    for file in plain_files:
        if file == "report.html" or not os.path.exists(os.path.join(ranked_dir, file)):
            continue
        with open(os.path.join(plain_dir, file)) as a, open(os.path.join(ranked_dir, file)) as b:
            plain, ranked = a.read(), b.read()
        if file in ("summary.json", "backtest.json"):
            check(json.loads(ranked)["run"]["ranks"] == ranks,
                  f"{name} at {ranks} ranks: {file} run.ranks is {json.loads(ranked)['run']['ranks']}")
            plain, ranked = RUN_BLOCK_PER_RANK.sub("", plain), RUN_BLOCK_PER_RANK.sub("", ranked)
        if plain != ranked:
            lines = list(zip(plain.splitlines(), ranked.splitlines()))
            first = next((i + 1 for i, (x, y) in enumerate(lines) if x != y), len(lines) + 1)
            check(False, f"{name} at {ranks} ranks: {file} differs from one process's from line {first}")


def identical(betahedge, mpirun, source, work):
    demo = os.path.join(source, "configs", "demo")
    plain = commands(demo, lambda name: os.path.join(work, "plain", name))
    for name, args in plain.items():
        code, _, err = run([betahedge] + args, work)
        check(code == 0, f"{name} as one process: exit {code}: {err.strip()[-500:]}")
    for ranks in (1, 2, 3):
        ranked = commands(demo, lambda name: os.path.join(work, f"ranks{ranks}", name))
        for name, args in ranked.items():
            code, out, err = run([mpirun, "--oversubscribe", "-np", str(ranks), betahedge] + args, work)
            if not check(code == 0, f"{name} at {ranks} ranks: exit {code}: {err.strip()[-500:]}"):
                continue
            compare_outputs(name, ranks, os.path.join(work, "plain", name), os.path.join(work, f"ranks{ranks}", name))
            if name == "simulate":
                wrote = [line for line in err.splitlines() if line.startswith("simulate: wrote")]
                check(len(wrote) == 1, f"simulate at {ranks} ranks printed {len(wrote)} 'wrote' lines, not 1")
            if name == "bands":
                bands = [line for line in out.splitlines() if line.startswith("recommended pair")]
                check(len(bands) == 1, f"bands at {ranks} ranks printed {len(bands)} recommended pairs, not 1")
        print(f"{ranks} ranks: compared with one process")


def expect_agreed_error(case, mpirun, work, per_rank_args, out_dir):
    """per_rank_args: one (count, argv) per MPMD block; each rank writes its exit code to codes/."""
    codes = os.path.join(work, "codes-" + case)
    os.makedirs(codes)
    record = 'code=0; "$@" || code=$?; echo $code > "' + codes + '/$OMPI_COMM_WORLD_RANK"'
    command = []
    for count, argv in per_rank_args:
        command += ([":"] if command else []) + ["-np", str(count), "sh", "-c", record, "sh"] + argv
    code, _, err = run([mpirun, "--oversubscribe"] + command, work)
    check(code != 124, f"{case}: no answer within {TIMEOUT_S} s (a rank waits for others that left)")
    ranks = sum(count for count, _ in per_rank_args)
    seen = {}
    for rank in range(ranks):
        path = os.path.join(codes, str(rank))
        if os.path.exists(path):
            with open(path) as f:
                seen[rank] = int(f.read())
    check(seen == {rank: 2 for rank in range(ranks)}, f"{case}: exit codes by rank {seen}, expected 2 on each of {ranks}")
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    check(len(lines) == 1, f"{case}: {len(lines)} error lines on stderr, expected 1: {lines}")
    check(not os.path.exists(out_dir), f"{case}: {out_dir} exists after the error")
    leftovers = [f for f in os.listdir(work) if ".partial-" in f]
    check(not leftovers, f"{case}: temporary outputs left behind: {leftovers}")
    print(f"{case}: {lines[0] if lines else 'no error line'}")


def errors(betahedge, mpirun, source, work):
    book = os.path.join(source, "configs", "demo", "book.yaml")
    common = ["--paths", PATHS, "--threads", "1", "--backend", "cpu", "--quiet"]

    out = os.path.join(work, "missing-model")
    argv = [betahedge, "simulate", "--config", book, "--model", os.path.join(work, "no-such-model.json"),
            "--out", out] + common
    expect_agreed_error("missing model file", mpirun, work, [(3, argv)], out)

    # A regular file where rank 0 must create the output's parent: met only when it writes.
    blocker = os.path.join(work, "a-file")
    with open(blocker, "w") as f:
        f.write("not a directory\n")
    out = os.path.join(blocker, "out")
    argv = [betahedge, "simulate", "--config", book, "--out", out] + common
    expect_agreed_error("output unwritable on rank 0", mpirun, work, [(3, argv)], out)

    out = os.path.join(work, "bad-rank-1")
    argv = [betahedge, "simulate", "--config", book, "--out", out] + common
    expect_agreed_error("error on rank 1 only", mpirun, work,
                        [(1, argv), (1, ["env", "BETAHEDGE_CPU_ISA=bogus"] + argv), (1, argv)], out)


def main():
    if len(sys.argv) != 6 or sys.argv[1] not in ("identical", "errors"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, betahedge, mpirun, source, work = sys.argv[1:]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    work = os.path.realpath(work)
    (identical if mode == "identical" else errors)(os.path.abspath(betahedge), mpirun, source, work)
    if failures:
        print(f"{len(failures)} failure(s)", file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
