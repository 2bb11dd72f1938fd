#!/usr/bin/env python3
"""Soak of `capsid batch`: many mixed jobs through the command, as a user runs
it, fed through a pipe that stays open until every result is back.

Checks, after the last result:
  - every input line has exactly one result line, with the outcome its kind
    implies (exit code, signal, timeout, error naming the line);
  - no process a job started is still alive (each job carries a marker in its
    argv or environment and /proc is searched for it);
  - capsid's descriptor count and the namespaces it holds (nsfs descriptors
    and mounts) are back where they started and none of its job cgroups is
    left;
  - capsid's resident memory is back near where it was after the first
    results (a leak of one buffer per job would show as tens of MiB).

usage: soak-batch.py CAPSID HELPER [JOBS]   (JOBS defaults to $CAPSID_SOAK_JOBS
or 2000; CI's soak step runs 20000)
"""
import json
import os
import random
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from checks import measurable_memory  # noqa: E402

KINDS = ["ok", "exit", "crash", "timeout", "output", "badcwd", "readonly",
         "badline", "orphan"]
WORKSPACES = 20


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def namespaces_held(pid):
    """Namespaces capsid process pid keeps alive beyond its own: open nsfs
    descriptors (a held netns, say) and nsfs mounts (pins) under its state
    directory. Namespaces of jobs die with their processes, which are
    checked by marker; anything else that keeps one alive shows here. The
    mount table is the machine's: other capsid state directories' pins
    (another test, a bench) are not this run's and are not counted."""
    state = os.path.realpath(os.environ.get("CAPSID_STATE_DIR",
                                            "/var/lib/capsid")) + "/"
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)).split(":")[0] in (
                    "net", "mnt", "pid", "user", "uts", "ipc", "cgroup"):
                n += 1
        except OSError:
            pass
    with open("/proc/%d/mountinfo" % pid) as f:
        n += sum(1 for line in f if " - nsfs " in line and
                 line.split()[4].startswith(state))
    return n


def cgroup_count(pid):
    """Job cgroups capsid process pid still holds, in every hierarchy.
    capsid names them job-<pid>-<n>; counting only this process's keeps
    tests that run jobs alongside (ctest -j) out of the figure."""
    prefix = "job-%d-" % pid
    n = 0
    for _, dirs, _ in os.walk("/sys/fs/cgroup"):
        n += sum(1 for d in dirs if d.startswith(prefix))
    return n


def marked_processes(marker):
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def make_job(i, kind, rng, ws, helper, marker):
    job = {"id": "j%d" % i, "cwd": ws[i % WORKSPACES],
           "argv": [helper, "exit", "0"]}
    if kind == "exit":
        job["argv"] = [helper, "exit", "7"]
    elif kind == "crash":
        job["argv"] = [helper, "signal", "11"]
    elif kind == "timeout":
        job["argv"] = [helper, "sleep-ms", "10000"]
        job["timeout_ms"] = rng.randint(20, 100)
    elif kind == "output":
        job["argv"] = [helper, "write-bytes", str(rng.randint(0, 300000)),
                       "121"]
        job["output_limit"] = 65536
    elif kind == "badcwd":
        job["cwd"] = "/nonexistent/capsid-soak"
    elif kind == "readonly":
        job["policy"] = "read-only"
    elif kind == "badline":
        return '{"id":"j%d","argv":"not a list"}' % i
    elif kind == "orphan":
        # A grandchild that outlives its parent and would outlive the job
        # if capsid only killed the direct child; the timeout must end it.
        job["argv"] = ["/bin/sh", "-c",
                       "sh -c 'sleep 30; :' %s & sleep 30" % marker]
        job["timeout_ms"] = rng.randint(50, 150)
    job["network"] = bool(rng.getrandbits(1))
    return json.dumps(job)


def check(kind, r):
    if kind == "ok" or kind == "readonly":
        return r["exit_code"] == 0 and r["error"] is None
    if kind == "exit":
        return r["exit_code"] == 7
    if kind == "crash":
        return r["signal"] == 11
    if kind in ("timeout", "orphan"):
        return r["timed_out"] is True
    if kind == "output":
        return r["exit_code"] == 0 and len(r["stdout"]) <= 65536 + 64
    if kind == "badcwd":
        return r["error"] is not None and "cwd" in json.dumps(r["error"])
    if kind == "badline":
        return r["error"] is not None and "argv" in json.dumps(r["error"])
    return False


def main():
    capsid, helper = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else \
        int(os.environ.get("CAPSID_SOAK_JOBS", "2000"))
    rng = random.Random(4242)
    marker = "capsid-soak-%d" % os.getpid()
    root = tempfile.mkdtemp(prefix="capsid-soak-")
    ws = []
    for w in range(WORKSPACES):
        path = os.path.join(root, "ws%02d" % w)
        os.makedirs(os.path.join(path, ".git"))
        ws.append(path)

    kinds = [rng.choice(KINDS) for _ in range(n)]
    lines = [make_job(i, kinds[i], rng, ws, helper, marker) for i in range(n)]
    proc = subprocess.Popen([capsid, "batch", "-j", "16", "-"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, bufsize=1 << 20,
                            env=measurable_memory())

    def feed():
        for line in lines:
            proc.stdin.write(line + "\n")
        proc.stdin.flush()

    feeder = threading.Thread(target=feed)
    feeder.start()
    results = {}
    failures = []
    fds_start = rss_start = ns_start = None
    got = 0
    while got < n:
        line = proc.stdout.readline()
        if not line:
            failures.append("capsid closed its output after %d results" % got)
            break
        got += 1
        r = json.loads(line)
        rid = r.get("id")
        results.setdefault(rid, []).append(r)
        if got == min(500, n // 4):
            fds_start = fd_count(proc.pid)
            ns_start = namespaces_held(proc.pid)
            rss_start = rss_kib(proc.pid)
    feeder.join()
    # Every result is in and capsid is still running with its input open:
    # this is where leaks would show.
    fds_end = fd_count(proc.pid)
    ns_end = namespaces_held(proc.pid)
    rss_end = rss_kib(proc.pid)
    leftovers = marked_processes(marker)
    cgroups_idle = cgroup_count(proc.pid)
    proc.stdin.close()
    rc = proc.wait()
    cgroups_after = cgroup_count(proc.pid)

    for i in range(n):
        rid = "j%d" % i
        got_r = results.get(rid, [])
        if len(got_r) != 1:
            failures.append("%s (%s) has %d results" % (rid, kinds[i],
                                                         len(got_r)))
        elif not check(kinds[i], got_r[0]):
            failures.append("%s (%s): unexpected result %s" %
                            (rid, kinds[i], json.dumps({k: got_r[0][k] for k in ("exit_code", "signal", "timed_out", "error")})))
    extra = set(results) - {"j%d" % i for i in range(n)}
    if extra:
        failures.append("results for unknown ids: %s" % sorted(extra)[:5])
    if leftovers:
        failures.append("processes outlived their jobs: %s" % leftovers)
    if fds_start is not None and fds_end > fds_start:
        failures.append("descriptors grew from %d to %d" % (fds_start,
                                                            fds_end))
    if ns_start is not None and ns_end > ns_start:
        failures.append("namespaces held grew from %d to %d" % (ns_start,
                                                                ns_end))
    if rss_start is not None and rss_end - rss_start > 32 * 1024:
        failures.append("resident memory grew from %d to %d KiB" %
                        (rss_start, rss_end))
    if cgroups_idle or cgroups_after:
        failures.append("job cgroups left: %d with every job done, %d after "
                        "exit" % (cgroups_idle, cgroups_after))
    if rc != 1 and rc != 0:
        failures.append("capsid batch exited %d" % rc)
    subprocess.run(["rm", "-rf", root])

    counts = {k: kinds.count(k) for k in KINDS}
    print("soak-batch: %d jobs %s; fds %s -> %d, namespaces held %s -> %d, "
          "RSS %s -> %d KiB, "
          "job cgroups left %d (idle) %d (exited), exit %d" %
          (n, counts, fds_start, fds_end, ns_start, ns_end, rss_start,
           rss_end, cgroups_idle, cgroups_after, rc))
    for f in failures[:20]:
        print("FAIL: " + f)
    if len(failures) > 20:
        print("... and %d more" % (len(failures) - 20))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
