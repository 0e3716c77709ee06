#!/usr/bin/python3
"""memory_flat.py — opening, verifying, exporting and time-travelling a data directory whose
journal is ten times the memory the process may use (journal.hpp: segments read by streaming).

    memory_flat.py UPLINE_CLI [LIMIT_MIB]

Builds a data directory with 4 MiB segments whose journal is 10 x LIMIT_MIB (default 96 MiB, so
a journal of 960 MiB): a few members, then events of about 1 MiB each that the engine rejects
(an unknown field) and journals as they came. Then runs `upline status`, `verify`, `export` and
`dump --until` with their address space limited to LIMIT_MIB (RLIMIT_AS), checks that each
succeeds with the right answer, and prints the peak resident memory of each. Before segments were
streamed, opening read the whole journal into memory and failed under the limit.
"""
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile

MIB = 1 << 20


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cli = sys.argv[1]
    limit = int(sys.argv[2]) * MIB if len(sys.argv) > 2 else 96 * MIB
    journal_target = 10 * limit
    pad = "x" * (MIB - 100)
    work = tempfile.mkdtemp(prefix="upline-memflat-")
    try:
        data = os.path.join(work, "data")
        events = os.path.join(work, "events.jsonl")
        with open(events, "w") as f:
            f.write('{"type":"join","member":1,"sponsor":null,"at":1}\n')
            f.write('{"type":"join","member":2,"sponsor":1,"at":2}\n')
            n = journal_target // MIB + 1
            for i in range(n):
                f.write('{"type":"join","member":%d,"sponsor":1,"at":3,"pad":"%s"}\n' % (10 + i, pad))
            f.write('{"type":"join","member":3,"sponsor":2,"at":4}\n')
        total = n + 3
        subprocess.run([cli, "apply", "--data", data, "--plan", "four-tier", "--events", events, "--sync", "none",
                        "--segment-bytes", str(4 * MIB), "--snapshot-bytes", "0"],
                       check=True, stdout=subprocess.DEVNULL)
        os.unlink(events)
        journal = sum(os.path.getsize(os.path.join(data, f)) for f in os.listdir(data) if f.startswith("journal"))
        segments = len([f for f in os.listdir(data) if f.startswith("journal")])
        assert journal >= journal_target, (journal, journal_target)
        print("journal: %d bytes in %d segments; address space limit %d MiB (journal / limit = %.1f)" %
              (journal, segments, limit // MIB, journal / limit))

        def limited():
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        def run(args, out=subprocess.PIPE):
            p = subprocess.run([cli] + args, stdout=out, stderr=subprocess.PIPE, preexec_fn=limited)
            if p.returncode != 0:
                sys.exit("FAILED: upline %s exited %d under the limit:\n%s" % (" ".join(args), p.returncode, p.stderr.decode()))
            return p.stdout.decode() if p.stdout is not None else ""

        status = run(["status", "--data", data])
        assert "last seq  %d" % total in status, status
        assert "members   3," in status, status
        print("status: ok, last seq %d" % total)

        verify = run(["verify", "--data", data])
        assert verify.rstrip().endswith("verify: ok"), verify
        print("verify: ok")

        with open(os.devnull, "w") as null:
            run(["export", "--data", data], out=null)
        print("export: ok")

        state = json.loads(run(["dump", "--data", data, "--dump", "-", "--until", str(total - 1)]))
        assert [m["id"] for m in state["members"]] == [1, 2], state["members"]
        print("dump --until %d: ok" % (total - 1))
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print("memory-flat: ok (peak RSS of any command %.1f MiB, journal %.0f MiB)" % (peak / 1024, journal / MIB))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
