#!/usr/bin/python3
"""ctest cli.progress_on_a_terminal: the CLI's progress with stderr on a pseudo-terminal and not.

    /usr/bin/python3 tests/host/cli/progress_terminal_test.py BETAHEDGE SOURCE_DIR WORK_DIR

Runs `backtest` (106 dates of data/demo_prices.csv, 2,000 paths a date) and `stress` (the demo
book's 7 scenarios and 2 replays, 5,000 paths) twice each, once with stderr a pipe and once with
it a pseudo-terminal 100 columns wide, and checks:
  - without a terminal, stderr is the engine's lines as they were: no carriage return, no escape
    sequence, every count line there ("backtest: K of 106 dates" ten times, K rising to 106;
    "scenario NAME: simulating (K of 7 scenarios done)" for K = 0..6);
  - on the terminal, status lines are drawn ("\\r" ... "\\x1b[K"): the elapsed time, for a count a
    20-column bar filled floor(20 K / N) and "K/N", then the event's text, within 99 columns;
  - what the terminal shows in the end (its output replayed through a small terminal emulator)
    is the same lines, in order, with each backtest count replacing the one before (only the last,
    106 of 106, stays); with stdout on the terminal too, its result lines are whole lines there;
  - --quiet draws nothing (the warning line alone);
  - an error after progress (the report renderer missing) leaves the error line whole, last, after
    the progress lines, with exit code 2.
"""
import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios

WIDTH = 100
ELAPSED = re.compile(r"\[ *\d+\.\d\d s\]")  # the risk job's own time stamps, different each run


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def run_piped(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, timeout=300, env=env)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def run_on_terminal(cmd, stdout_too, env=None):
    """Runs cmd with stderr (and stdout when stdout_too) on a new pseudo-terminal WIDTH columns
    wide; returns the exit code, the terminal's bytes decoded, and stdout when it was a pipe."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, WIDTH, 0, 0))
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=slave if stdout_too else subprocess.PIPE,
                            stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: every holder of the terminal's other end has closed it
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    out = b"" if stdout_too else proc.stdout.read()
    code = proc.wait(timeout=300)
    return code, b"".join(chunks).decode(), out.decode()


def screen(transcript):
    """The lines a terminal shows after `transcript`: carriage return to column 0, ESC [ K clears
    to the end of the line, newline ends the line, any other character overwrites the cell under
    the cursor. Returns the finished lines and the unfinished last one."""
    lines, line, col = [], [], 0
    i = 0
    while i < len(transcript):
        c = transcript[i]
        if transcript.startswith("\x1b[K", i):
            del line[col:]
            i += 3
            continue
        check(c != "\x1b", f"an escape sequence other than ESC [ K: {transcript[i:i + 10]!r}")
        if c == "\r":
            col = 0
        elif c == "\n":
            lines.append("".join(line))
            line, col = [], 0
        else:
            if col < len(line):
                line[col] = c
            else:
                line.append(c)
            col += 1
        i += 1
    return lines, "".join(line)


def status_frames(transcript):
    """Every status line drawn: the text between a carriage return and ESC [ K."""
    return re.findall(r"\r([^\r\n\x1b]*)\x1b\[K", transcript)


def count_of(line):
    m = re.search(r"(?<![\w.,])(\d+) of (\d+)(?![\w])", line)
    return (m.start(), int(m.group(1)), int(m.group(2))) if m else None


def collapsed(lines):
    """The lines with each count that continues the one before (the same text before "K of N",
    the same N) in its place: what a terminal keeps."""
    kept = []
    for line in lines:
        now, before = count_of(line), count_of(kept[-1]) if kept else None
        if now and before and now[2] == before[2] and line[:now[0]] == kept[-1][:before[0]]:
            kept[-1] = line
        else:
            kept.append(line)
    return kept


def check_frames(frames, events, must_see):
    """Each status line: the time, the bar and count when its event states one, the event's text
    (whole, or cut with "..."); within WIDTH - 1 columns. `events`: the lines of the same command
    without a terminal (time stamps may differ)."""
    check(frames, "no status line was drawn on the terminal")
    events = [ELAPSED.sub("[T]", e) for e in events]
    frame = re.compile(r"^ *\d+\.\d s(?: \[([#.]{20})\] (\d+)/(\d+))? (.*)$")
    seen = set()
    for f in frames:
        check(len(f) <= WIDTH - 1, f"a status line of {len(f)} columns on a {WIDTH}-column terminal: {f!r}")
        if f == "":
            continue  # the status line taken down
        m = frame.match(f)
        check(m, f"a status line not of the form 'T s [bar] K/N text': {f!r}")
        bar, done, total, text = m.groups()
        text = ELAPSED.sub("[T]", text)
        event = [e for e in events if e == text or (text.endswith("...") and e.startswith(text[:-3]))]
        check(event, f"a status line whose text is no event's: {f!r}")
        c = count_of(event[0])
        check((bar is not None) == (c is not None), f"a bar without a count in the event, or the reverse: {f!r}")
        if bar is not None:
            k, n = int(done), int(total)
            check((k, n) == c[1:], f"the bar's count {k}/{n} is not the event's: {f!r}")
            check(bar == "#" * (20 * k // n) + "." * (20 - 20 * k // n), f"bar {bar} for {k} of {n}")
            seen.add((k, n))
    check(must_see <= seen, f"no status line drew the counts {sorted(must_see - seen)}")


def check_backtest(binary, source_dir, work):
    base = [binary, "backtest", "--no-report", "--prices", os.path.join(source_dir, "data", "demo_prices.csv"),
            "--config", os.path.join(source_dir, "configs", "demo", "book.yaml"), "--paths", "2000",
            "--window-days", "365", "--from", "2024-11-01", "--backend", "cpu", "--force"]
    code, out, err = run_piped(base + ["--out", os.path.join(work, "bt-piped")])
    check(code == 0, f"backtest exited {code}: {err}")
    check("\r" not in err and "\x1b" not in err, f"control characters on stderr without a terminal: {err[:300]!r}")
    lines = err.splitlines()
    counts = [count_of(x)[1] for x in lines if x.startswith("backtest: ") and " of 106 dates (" in x]
    check(len(counts) == 10 and counts == sorted(counts) and counts[-1] == 106,
          f"without a terminal, the backtest's count lines are {counts}, expected ten rising to 106")
    check(lines[0].startswith("backtest: 106 test dates 2024-11-01 .. 2025-02-14") and
          lines[-1] == "backtest: wrote " + os.path.join(work, "bt-piped"), f"stderr without a terminal:\n{err}")

    # stdout and stderr both on the terminal: the result lines are lines of their own.
    code, transcript, _ = run_on_terminal(base + ["--out", os.path.join(work, "bt-piped")], stdout_too=True)
    check(code == 0, f"backtest on a terminal exited {code}: {transcript[-500:]!r}")
    check_frames(status_frames(transcript), lines, {(106, 106)})
    shown, unfinished = screen(transcript)
    check(unfinished == "", f"the terminal's last line is left unfinished: {unfinished!r}")
    expected_err = collapsed(lines)
    check(expected_err[:2] == [lines[0], lines[10]], "the count lines should collapse to 106 of 106")
    out_lines = out.splitlines()
    # One line per level and side, each followed by its rejected tests' lines (indented), then the
    # margin calls (the demo book can be called).
    results = [x for x in out_lines if not x.startswith(" ")]
    check(len(results) == 5 and results[-1].startswith("margin calls: "),
          f"backtest printed {len(results)} result lines: {out}")
    check([x for x in shown if x in out_lines] == out_lines,
          f"the result lines on the terminal:\n" + "\n".join(shown))
    check([x for x in shown if x not in out_lines] == expected_err,
          "the terminal shows\n" + "\n".join(shown) + "\nexpected stderr's lines\n" + "\n".join(expected_err))

    # --quiet: no status line, only the warning (a warning is no progress line).
    code, transcript, _ = run_on_terminal(base + ["--quiet", "--out", os.path.join(work, "bt-piped")],
                                          stdout_too=False)
    warnings = [x for x in lines if x.startswith("warning: ")]
    check(code == 0 and warnings and transcript.replace("\r\n", "\n") == "".join(w + "\n" for w in warnings),
          f"--quiet on a terminal wrote {transcript!r}")

    # An error after the progress lines: it stands last and whole.
    env = dict(os.environ, BETAHEDGE_REPORT_SCRIPT=os.path.join(work, "no-such-renderer.py"))
    report_run = [x for x in base if x != "--no-report"]
    code, transcript, _ = run_on_terminal(report_run + ["--out", os.path.join(work, "bt-error")], stdout_too=False,
                                          env=env)
    shown, unfinished = screen(transcript)
    check(code == 2, f"a missing renderer: exit {code}, expected 2")
    check(unfinished == "" and shown[-1].startswith("error: report.html: the renderer (") and
          shown[-2] == "backtest: rendering report.html",
          "after an error the terminal shows\n" + "\n".join(shown[-3:]) + f"\nand {unfinished!r} unfinished")


def check_stress(binary, source_dir, work):
    cmd = [binary, "stress", "--prices", os.path.join(source_dir, "data", "demo_prices.csv"),
           "--config", os.path.join(source_dir, "configs", "demo", "book.yaml"), "--paths", "5000",
           "--backend", "cpu", "--force", "--out", os.path.join(work, "stress")]
    code, _, err = run_piped(cmd)
    check(code == 0, f"stress exited {code}: {err}")
    check("\r" not in err and "\x1b" not in err, f"control characters on stderr without a terminal: {err[:300]!r}")
    lines = err.splitlines()
    scenarios = [count_of(x)[1:] for x in lines if re.search(r"\] scenario [\w-]+: simulating", x)]
    check(scenarios == [(k, 7) for k in range(7)], f"the scenario lines' counts are {scenarios}")

    code, transcript, out = run_on_terminal(cmd, stdout_too=False)
    check(code == 0, f"stress on a terminal exited {code}: {transcript[-500:]!r}")
    check_frames(status_frames(transcript), lines, {(k, 7) for k in range(7)})
    shown, unfinished = screen(transcript)
    check(unfinished == "", f"the terminal's last line is left unfinished: {unfinished!r}")
    # Each scenario's line has its own time stamp: none replaces another, every line stays.
    masked = [ELAPSED.sub("[T]", x) for x in lines]
    check([ELAPSED.sub("[T]", x) for x in shown] == masked,
          "the terminal shows\n" + "\n".join(shown) + "\nexpected\n" + "\n".join(lines))


def main(binary, source_dir, work):
    os.makedirs(work, exist_ok=True)
    check_backtest(binary, source_dir, work)
    check_stress(binary, source_dir, work)
    print("cli.progress_on_a_terminal: OK")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print("usage: progress_terminal_test.py BETAHEDGE SOURCE_DIR WORK_DIR", file=sys.stderr)
        sys.exit(2)
    try:
        main(*(os.path.abspath(a) for a in sys.argv[1:]))
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
