"""tests/support/process_check.py — what the process tests written in Python share: a failure list
that does not stop at the first failure, and one way to run the CLI with a bounded time and an
expected exit status."""
import subprocess
import sys

failures = []


def check(cond, what):
    """Records a failure (printed at once) and goes on."""
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True, file=sys.stderr)


def make_run(binary):
    """run(*args, rc=0): the CLI's CompletedProcess (text, bounded to 300 s); exits the test with
    the command and its standard error when the exit status is not `rc`."""

    def run(*args, rc=0):
        p = subprocess.run([binary, *args], capture_output=True, text=True, timeout=300)
        if p.returncode != rc:
            raise SystemExit(f"{binary} {' '.join(args)}: exit {p.returncode}, wanted {rc}\n{p.stderr}")
        return p

    return run


def finish(name):
    """The test's exit status: 1 with the count of failures, else 0 after "NAME: ok"."""
    if failures:
        print(f"{len(failures)} failures", file=sys.stderr)
        return 1
    print(f"{name}: ok")
    return 0
