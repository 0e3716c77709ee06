#!/usr/bin/python3
"""`upline serve` as a process: SIGKILL under load loses no acknowledged event and the restarted
state equals a replay of the journal; SIGTERM writes a snapshot and exits 0; the command's usage
errors. Standard library only. Usage: serve_process.py UPLINE_BINARY TEST (sigkill|sigterm|usage)."""

import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time

UPLINE = sys.argv[1]
LIMIT = 60  # seconds: the longest any single wait here may take


def fail(msg):
    print("FAIL:", msg, flush=True)
    sys.exit(1)


def start(data, *extra):
    p = subprocess.Popen([UPLINE, "serve", "--data", data, "--listen", "127.0.0.1:0", *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line.startswith("listening on http://127.0.0.1:"):
        p.kill()
        fail("first line was %r, stderr %r" % (line, p.stderr.read()))
    return p, int(line.strip().rsplit(":", 1)[1])


def request(port, method, path, body=None, timeout=30):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body)
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()


def stop(p, sig=signal.SIGTERM):
    p.send_signal(sig)
    try:
        out, err = p.communicate(timeout=LIMIT)
    except subprocess.TimeoutExpired:
        p.kill()
        fail("the server did not stop within %d s" % LIMIT)
    return p.returncode, out, err


def run(*args):
    r = subprocess.run([UPLINE, *args], capture_output=True, text=True, timeout=LIMIT * 5)
    return r.returncode, r.stdout, r.stderr


def replay_digest(data, work):
    rc, out, err = run("export", "--data", data)
    if rc != 0:
        fail("export: %s" % err)
    events = os.path.join(work, "events.jsonl")
    with open(events, "w") as f:
        f.write(out)
    dump = os.path.join(work, "replayed.json")
    rc, _, err = run("replay", "--plan", "four-tier", "--events", events, "--dump", dump)
    if rc != 0:
        fail("replay: %s" % err)
    with open(dump) as f:
        return json.load(f)["digest"]


def join(m, sponsor=None):
    return json.dumps({"type": "join", "member": m, "sponsor": sponsor, "at": 1000})


def purchase(order, m):
    return json.dumps({"type": "purchase", "order": order, "member": m, "shop": "main", "amount": "12.50", "at": 2000})


def test_sigkill():
    """Clients submit unique orders; the server is killed at a random moment, three times; each
    restart has every order that was acknowledged, and equals a replay of its journal."""
    rng = random.Random(20261130)
    with tempfile.TemporaryDirectory() as work:
        data = os.path.join(work, "data")
        p, port = start(data, "--plan", "four-tier")
        status, _ = request(port, "POST", "/v1/events/batch", "\n".join([join(1)] + [join(m, 1) for m in range(2, 201)]) + "\n")
        if status != 200:
            fail("loading members: %d" % status)
        acked = []  # order ids acknowledged, over every round
        lock = threading.Lock()
        for rnd in range(3):
            stop_flag = threading.Event()

            def client(t):
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                k = 0
                while not stop_flag.is_set():
                    oid = "r%d-t%d-%d" % (rnd, t, k)
                    k += 1
                    try:
                        c.request("POST", "/v1/events", body=purchase(oid, 1 + (t * 7 + k) % 200))
                        r = c.getresponse()
                        body = r.read()
                    except (OSError, http.client.HTTPException):
                        return  # the server is gone: this one was never acknowledged
                    if r.status == 200 and json.loads(body)["status"] == "ok":
                        with lock:
                            acked.append(oid)

            threads = [threading.Thread(target=client, args=(t,)) for t in range(32)]
            for t in threads:
                t.start()
            time.sleep(0.5 + rng.random())
            p.kill()  # SIGKILL at an arbitrary instant
            p.wait(timeout=LIMIT)
            stop_flag.set()
            for t in threads:
                t.join(timeout=LIMIT)
            p, port = start(data)  # no --plan: the directory exists
            for oid in acked:
                status, _ = request(port, "GET", "/v1/orders/" + oid)
                if status != 200:
                    fail("round %d: acknowledged order %s is missing after the restart (%d)" % (rnd, oid, status))
        status, body = request(port, "GET", "/v1/status")
        digest = json.loads(body)["digest"]
        status, served_dump = request(port, "GET", "/v1/dump")
        rc, _, err = stop(p)
        if rc != 0:
            fail("SIGTERM: exit %d, %s" % (rc, err))
        if replay_digest(data, work) != digest:
            fail("the restarted state's digest differs from a replay of the journal")
        rc, cli_dump, _ = run("dump", "--data", data, "--dump", "-")
        if cli_dump != served_dump:
            fail("GET /v1/dump differs from `upline dump` at the same sequence number")
        print("ok: %d acknowledged orders survived 3 SIGKILLs; digest %s equals the journal's replay" % (len(acked), digest))


def test_sigterm():
    """SIGTERM: what is in flight is answered, a snapshot is written, exit 0; one stdout line."""
    with tempfile.TemporaryDirectory() as work:
        data = os.path.join(work, "data")
        p, port = start(data, "--plan", "four-tier", "--sync", "group")
        request(port, "POST", "/v1/events", join(1))
        for m in range(2, 50):
            status, body = request(port, "POST", "/v1/events", join(m, 1))
            if status != 200:
                fail("join %d: %d %s" % (m, status, body))
        rc, out, err = stop(p)
        if rc != 0:
            fail("exit %d after SIGTERM: %s" % (rc, err))
        if out != "":  # start() read the one line, "listening on http://127.0.0.1:PORT"
            fail("standard output had more than one line: %r" % out)
        snaps = [n for n in os.listdir(data) if n.startswith("snapshot-")]
        if snaps != ["snapshot-%020d.snap" % 49]:
            fail("snapshots after SIGTERM: %r" % snaps)
        if "wrote snapshot-00000000000000000049.snap" not in err:
            fail("stderr: %r" % err)
        rc, out, err = run("status", "--data", data)
        if rc != 0 or "snapshot  snapshot-00000000000000000049.snap (sequence 49, then 0 records replayed)" not in out:
            fail("status after SIGTERM: %s %s" % (out, err))
        print("ok: SIGTERM wrote the snapshot at 49 and exited 0")


def test_usage():
    """Usage errors exit 2 with a message naming the option and the value."""
    with tempfile.TemporaryDirectory() as work:
        data = os.path.join(work, "data")
        p, _ = start(data, "--plan", "four-tier")
        stop(p)
        cases = [
            (["--data", data, "--plan", "deep"], "differs from the plan the directory was created with"),
            (["--data", data, "--listen", "0.0.0.0:0"], "0.0.0.0 is not a loopback address: give --token-file"),
            (["--data", data, "--listen", "localhost"], "--listen: \"localhost\" is not HOST:PORT"),
            (["--data", data, "--listen", "127.0.0.1:70000"], "is not HOST:PORT"),
            (["--data", data, "--listen", "example:80"], "\"example\" is not an IP address"),
            (["--data", data, "--sync", "sometimes"], "--sync: \"sometimes\" is not group, every or none"),
            (["--data", os.path.join(work, "none")], "no journal here (create the store with a plan first)"),
        ]
        tokens = os.path.join(work, "tokens")
        with open(tokens, "w") as f:
            f.write("# comment\nshort\n")
        cases.append((["--data", data, "--token-file", tokens], "line 2: a token is 16 to 4096 visible ASCII characters (5 here)"))
        for args, want in cases:
            r = subprocess.run([UPLINE, "serve", *args], capture_output=True, text=True, timeout=LIMIT)
            if r.returncode != 2 or want not in r.stderr or r.stdout:
                fail("serve %s: exit %d, stdout %r, stderr %r (wanted exit 2 and %r)" % (" ".join(args), r.returncode, r.stdout, r.stderr, want))
            if "short" in r.stderr and "line 2" in want:
                fail("a token appeared in a message")
        print("ok: %d usage errors" % len(cases))


{"sigkill": test_sigkill, "sigterm": test_sigterm, "usage": test_usage}[sys.argv[2]]()
