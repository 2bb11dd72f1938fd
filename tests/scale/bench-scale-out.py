#!/usr/bin/env python3
"""Throughput of scale-out against local `capsid batch`, in one run.

Usage: bench-scale-out.py PATH/TO/capsid [-n JOBS] [--rounds R]
                          [--workers W] [-j J]

Starts a redis-server of its own on loopback (AOF on, appendfsync
everysec, as docs/scale-out.md recommends), and W workers (default 2)
of -j J each (default 4: the same 8 jobs at a time as the local run) on
one stream. Then, R times in turn (default 3), runs the same JOBS jobs of
/bin/true (default 2000, network off, one shared cwd):

  local: capsid batch -j 8 FILE > /dev/null
  scale: capsid submit (a new batch), then capsid collect --batch until
         every result is in; the time from submit's start to collect's
         end

and prints each round's times with the 1-minute load average read
before it, the best time of each, and the ratio of throughputs
(local time / scale time: 1.0 means as fast as local). Not a test: no
threshold; docs/benchmarks.md keeps the figures.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scalelib import so  # noqa: E402


def timed(argv, **kw):
    t = time.monotonic()
    res = subprocess.run(argv, **kw)
    return time.monotonic() - t, res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("capsid")
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("-j", type=int, default=4)
    args = ap.parse_args()
    capsid = os.path.abspath(args.capsid)
    so.REDIS = shutil.which("redis-server")
    tmp = tempfile.mkdtemp(prefix="capsid-bench-so-")
    os.environ["CAPSID_STATE_DIR"] = os.path.join(tmp, "state")
    ws = os.path.join(tmp, "ws")
    os.mkdir(ws)
    jobs = os.path.join(tmp, "true.jsonl")
    with open(jobs, "w") as f:
        for i in range(args.n):
            f.write(json.dumps({"id": i, "argv": ["/bin/true"], "cwd": ws,
                                "network": False}) + "\n")
    srv = so.RedisServer()
    srv.start()
    # everysec, as recommended for production; the tests use always.
    so.Resp(srv.port).cmd("CONFIG", "SET", "appendfsync", "everysec")
    url = srv.url()
    workers = []
    try:
        for i in range(args.workers):
            err = open(os.path.join(tmp, "w%d.err" % i), "w")
            workers.append((subprocess.Popen(
                [capsid, "worker", "--redis", url, "--stream", "bench",
                 "--consumer", "b%d" % i, "-j", str(args.j)],
                stdout=subprocess.DEVNULL, stderr=err), err))
        r = so.Resp(srv.port)
        so.wait_for("the workers' group", lambda: r.cmd(
            "EXISTS", "bench") == 1 and len(r.cmd(
                "XINFO", "GROUPS", "bench")) == 1, 30)
        local, scale = [], []
        for rnd in range(args.rounds):
            load = os.getloadavg()[0]
            t, res = timed([capsid, "batch", "-j", "8", jobs],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
            if res.returncode != 0:
                sys.exit("capsid batch failed: " + res.stderr)
            local.append((t, load))
            load = os.getloadavg()[0]
            start = time.monotonic()
            sub = subprocess.run(
                [capsid, "submit", "--redis", url, "--stream", "bench",
                 "--id-window", "0", jobs], capture_output=True, text=True)
            if sub.returncode != 0:
                sys.exit("capsid submit failed: " + sub.stderr)
            col = subprocess.run(
                [capsid, "collect", "--redis", url, "--results",
                 "bench-results", "--batch", sub.stdout.strip(), "--count",
                 str(args.n), "--timeout", "600s"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            t = time.monotonic() - start
            if col.returncode != 0:
                sys.exit("capsid collect failed: " + col.stderr)
            bad = [l for l in col.stdout.splitlines()
                   if json.loads(l)["exit_code"] != 0]
            if bad:
                sys.exit("jobs failed: " + bad[0])
            scale.append((t, load))
            print("round %d: local %.2f s @ load %.1f, scale-out %.2f s @ "
                  "load %.1f, ratio %.2f" % (rnd + 1, local[-1][0],
                                             local[-1][1], t, load,
                                             local[-1][0] / t), flush=True)
        bl, bs = min(t for t, _ in local), min(t for t, _ in scale)
        print("best: local %.2f s, scale-out (%d workers x -j %d) %.2f s; "
              "throughput ratio %.2f" % (bl, args.workers, args.j, bs,
                                         bl / bs))
    finally:
        for p, err in workers:
            p.terminate()
            p.wait(timeout=60)
            err.close()
        srv.stop()
        shutil.rmtree(srv.dir, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
