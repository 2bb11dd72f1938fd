#!/usr/bin/env python3
"""capsid serve as a shared server: what a client may not do (issue 20).

Clients are real non-root uids (agents started with setresuid). Each
refusal has a control that succeeds for the owner of the directory:

  elevated      a root server, elevated mode set up in a private state
                directory; clients ALICE and BOB (allowed by flags)
  unprivileged  a server running as ALICE itself; BOB allowed to connect

Tried in both: a cwd the client does not own, a writable root it cannot
write (spec, policy and TMPDIR), a symlinked cwd into a root-only tree,
another user's job id in cancel and stdin, a user the flags do not allow,
shutdown by a non-owner. Needs root (to be other users): skips (77)
otherwise unless CAPSID_NO_SKIP is set.

  test-serve-security.py CAPSID"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serveclient import Agent  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import checks  # noqa: E402
from checks import Failure, run_main, uninstall  # noqa: E402

ALICE, BOB, EVE = 42101, 42102, 42103
GATE_GID = 42150
NO_SKIP = os.environ.get("CAPSID_NO_SKIP") == "1"
CHECKS = [0]


def check(cond, what):
    CHECKS[0] += 1
    checks.check(cond, what)


def refused(res, field, what):
    r = res.get("result") or {}
    err = r.get("error") or {}
    check(res.get("event") == "exit" and err.get("code") == "CAPSID_EPERM"
          and err.get("field") == field,
          "%s: expected a refusal naming %s, got %s" % (what, field, res))
    print("ok   refused: %s (%s)" % (what, err.get("message")))


def succeeded(res, mode, what):
    r = res.get("result") or {}
    check(res.get("event") == "exit" and r.get("error") is None and
          r.get("exit_code") == 0 and r.get("mode") == mode,
          "%s: expected exit 0 in %s mode, got %s" % (what, mode, res))
    print("ok   control: %s" % what)
    return r


def no_acl(path):
    names = os.listxattr(path, follow_symlinks=False)
    return not any(n.startswith("system.posix_acl") for n in names)


def wait_socket(path, proc):
    for _ in range(600):
        if os.path.exists(path):
            return
        if proc.poll() is not None:
            raise Failure("capsid serve exited with %d" % proc.returncode)
        time.sleep(0.05)
    raise Failure("capsid serve did not create %s" % path)


def make_tree(base):
    """Directories the tests aim at; returns a dict of paths."""
    t = {}
    for name, owner, mode in [("alice_ws", ALICE, 0o755),
                              ("alice_root", ALICE, 0o755),
                              ("bob_ws", BOB, 0o755),
                              ("root_ws", 0, 0o755),
                              ("root_dir", 0, 0o755),
                              ("root_only", 0, 0o700)]:
        p = os.path.join(base, name)
        os.mkdir(p)
        os.chown(p, owner, owner)
        os.chmod(p, mode)
        t[name] = p
    # A tree alice reaches only through a group: root:GATE_GID 0750 above
    # a workspace of hers.
    gate = os.path.join(base, "gate")
    os.mkdir(gate)
    os.chown(gate, 0, GATE_GID)
    os.chmod(gate, 0o750)
    t["gated_ws"] = os.path.join(gate, "ws")
    os.mkdir(t["gated_ws"])
    os.chown(t["gated_ws"], ALICE, ALICE)
    inner = os.path.join(t["root_only"], "inner")
    os.mkdir(inner)
    t["inner"] = inner
    # alice's links: one to a root-only tree, one to root's directory.
    t["link_only"] = os.path.join(t["alice_ws"], "to-root-only")
    os.symlink(inner, t["link_only"])
    os.lchown(t["link_only"], ALICE, ALICE)
    t["link_root"] = os.path.join(t["alice_ws"], "to-root-dir")
    os.symlink(t["root_dir"], t["link_root"])
    os.lchown(t["link_root"], ALICE, ALICE)
    return t


def matrix(label, sock, t, mode):
    alice = Agent(sock, ALICE)
    bob = Agent(sock, BOB)
    eve = Agent(sock, EVE)
    try:
        job = {"argv": ["sh", "-c", "echo made > made; id -u"],
               "cwd": t["alice_ws"], "mode": mode}
        r = succeeded(alice.run(job), mode, "%s: alice in her workspace"
                      % label)
        check(os.path.exists(os.path.join(t["alice_ws"], "made")),
              "the control job did not write its workspace")
        succeeded(alice.run({"argv": ["true"], "cwd": t["alice_ws"],
                             "writable_roots": [t["alice_root"]],
                             "mode": mode}),
                  mode, "%s: alice with her own extra root" % label)

        refused(alice.run({"argv": ["true"], "cwd": t["root_ws"],
                           "mode": mode}),
                "cwd", "%s: cwd owned by root" % label)
        refused(alice.run({"argv": ["true"], "cwd": t["bob_ws"],
                           "mode": mode}),
                "cwd", "%s: cwd owned by bob" % label)
        refused(alice.run({"argv": ["true"], "cwd": t["alice_ws"],
                           "writable_roots": [t["root_dir"]],
                           "mode": mode}),
                "writable_roots[0]", "%s: a writable root alice cannot "
                "write" % label)
        refused(alice.run({"argv": ["true"], "cwd": t["alice_ws"],
                           "policy": {"mode": "workspace-write",
                                      "writable_roots": [t["root_dir"]]},
                           "mode": mode}),
                "policy.writable_roots[0]", "%s: the same root in the "
                "policy" % label)
        refused(alice.run({"argv": ["true"], "cwd": t["alice_ws"],
                           "env": {"TMPDIR": t["root_dir"]},
                           "mode": mode}),
                "env.TMPDIR", "%s: TMPDIR alice cannot write" % label)
        refused(alice.run({"argv": ["true"], "cwd": t["link_only"],
                           "mode": mode}),
                "cwd", "%s: a symlinked cwd into a root-only tree" % label)
        refused(alice.run({"argv": ["true"], "cwd": t["link_root"],
                           "mode": mode}),
                "cwd", "%s: a symlinked cwd to root's directory" % label)
        refused(alice.run({"argv": ["true"], "cwd": t["inner"],
                           "policy": "read-only", "mode": mode}),
                "cwd", "%s: a read-only job in a root-only tree" % label)
        for p in (t["root_ws"], t["root_dir"], t["inner"]):
            check(no_acl(p), "%s got an ACL after the refusals" % p)
        print("ok   %s: root's directories have no ACL entries" % label)

        # Another user's job id.
        n = alice.submit({"argv": ["sleep", "600"], "cwd": t["alice_ws"],
                          "mode": mode})
        alice.next(lambda e: e.get("event") == "started" and
                   e.get("job") == n)
        m = alice.submit({"argv": ["cat"], "cwd": t["alice_ws"],
                          "mode": mode}, stdin_stream=True)
        for req, job in (("cancel", n), ("stdin", m)):
            bob.send(type=req, job=job, tag="b", data="x", eof=True)
            e = bob.next(lambda e: e.get("tag") == "b")
            check(e.get("event") == "error" and e.get("field") == "job",
                  "%s: bob's %s of alice's job was not refused: %s"
                  % (label, req, e))
            print("ok   refused: %s: bob's %s of alice's job %d" %
                  (label, req, job))
        bob.send(type="status", tag="s")
        st = bob.next(lambda e: e.get("tag") == "s")
        check(st.get("event") == "status" and st.get("jobs") == [],
              "bob's status shows other jobs: %s" % st)
        alice.send(type="status", tag="s")
        st = alice.next(lambda e: e.get("tag") == "s")
        check(sorted(j["job"] for j in st["jobs"]) == sorted([n, m]),
              "alice's status does not show her jobs: %s" % st)
        print("ok   %s: status shows each user only their own jobs" % label)
        # Controls: alice feeds her job and stops the other.
        alice.send(type="stdin", job=m, data="fed\n", eof=True)
        e = alice.next(lambda e: e.get("event") == "exit" and
                       e.get("job") == m)
        check(e["result"].get("stdout") == "fed\n",
              "alice's stdin did not reach her job: %s" % e)
        alice.send(type="cancel", job=n, grace_ms=0)
        e = alice.next(lambda e: e.get("event") == "exit" and
                       e.get("job") == n)
        check(e["result"].get("killed") is True,
              "alice's cancel did not kill her job: %s" % e)
        print("ok   control: %s: alice feeds and cancels her own jobs"
              % label)

        e = eve.next()
        check(e.get("event") == "error" and "may not use" in
              e.get("message", ""),
              "a user the flags do not allow was served: %s" % e)
        print("ok   refused: %s: a user no flag allows" % label)
        bob.send(type="shutdown", tag="x")
        e = bob.next(lambda e: e.get("tag") == "x")
        check(e.get("event") == "error",
              "bob could shut the server down: %s" % e)
        print("ok   refused: %s: shutdown by a client that does not own "
              "the server" % label)
        return bob
    finally:
        alice.close()
        eve.close()


def gated(sock, t, alice):
    """The server keeps a thread per client credentials for its checks:
    alice with the gate's group and alice without it are two, never
    one. Her job behind the gate runs only while she holds the group,
    also after the server has checked for her group-holding self."""
    job = {"argv": ["true"], "cwd": t["gated_ws"], "mode": "elevated"}
    refused(alice.run(job), "cwd", "elevated: alice without the gate's "
            "group, behind the gate")
    ga = Agent(sock, ALICE, GATE_GID)
    try:
        for i in range(2):
            r = ga.run(job)
            err = (r.get("result") or {}).get("error") or {}
            check(r.get("event") == "exit" and
                  err.get("code") != "CAPSID_EPERM",
                  "alice with the gate's group was refused: %s" % r)
        print("ok   control: elevated: alice with the gate's group passes "
              "the check, twice (%s)" % (err.get("message") or "ran"))
        refused(alice.run(job), "cwd", "elevated: alice without the group "
                "again, after her group-holding self was served")
    finally:
        ga.close()


def serve(capsid, env, sock, uid, extra):
    def drop():
        if uid is not None:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
    p = subprocess.Popen([capsid, "serve", "--socket", sock, "--allow-user",
                          str(ALICE), "--allow-user", str(BOB)] + extra,
                         env=env, preexec_fn=drop)
    wait_socket(sock, p)
    return p


def stop(sock, p, uid):
    owner = Agent(sock, uid)
    owner.send(type="shutdown", tag="end")
    e = owner.next(lambda e: e.get("tag") == "end")
    check(e.get("event") == "ok", "the owner could not shut down: %s" % e)
    owner.close()
    check(p.wait(timeout=120) == 0, "capsid serve did not exit 0")
    check(not os.path.exists(sock), "the socket was left behind")


def main():
    capsid = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        print("skip: the clients must be other users: run as root")
        return 1 if NO_SKIP else 77
    base = tempfile.mkdtemp(prefix="capsid-serve-sec-")
    os.chmod(base, 0o755)
    env = dict(os.environ)
    env.pop("SUDO_UID", None)
    elevated = None
    try:
        os.mkdir(os.path.join(base, "u"), 0o755)
        t = make_tree(os.path.join(base, "u"))

        # Elevated: a root server with capsid set up in its own state.
        el = dict(env, CAPSID_STATE_DIR=os.path.join(base, "state"))
        s = subprocess.run([capsid, "setup"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=el)
        if s.returncode != 0:
            raise Failure("capsid setup failed:\n" + s.stdout.decode())
        elevated = el
        # The users' trees: root capsid's own rule would take only root's
        # directories; the server checks each client itself.
        with open(os.path.join(el["CAPSID_STATE_DIR"], "allowed-roots"),
                  "w") as f:
            f.write(os.path.join(base, "u") + "\n")
        sock = os.path.join(base, "root-sock", "capsid.sock")
        p = serve(capsid, el, sock, None, [])
        st = os.stat(sock)
        check(st.st_mode & 0o777 == 0o666 and st.st_uid == 0,
              "the socket's mode is %o" % (st.st_mode & 0o777))
        try:
            bob = matrix("elevated", sock, t, "elevated")
            bob.close()
            a = Agent(sock, ALICE)
            refused(a.run({"argv": ["true"], "cwd": t["alice_ws"],
                           "mode": "unprivileged"}),
                    "mode", "elevated: alice asks a root server for an "
                    "unprivileged job (it would run as root)")
            gated(sock, t, a)
            a.close()
        finally:
            stop(sock, p, 0)

        # Unprivileged: the server runs as alice.
        ust = os.path.join(base, "alice-state")
        os.mkdir(ust)
        os.chown(ust, ALICE, ALICE)
        usock_dir = os.path.join(base, "alice-sock")
        os.mkdir(usock_dir)
        os.chown(usock_dir, ALICE, ALICE)
        sock = os.path.join(usock_dir, "capsid.sock")
        un = dict(env, CAPSID_STATE_DIR=ust)
        p = serve(capsid, un, sock, ALICE, [])
        try:
            bob = matrix("unprivileged", sock, t, "unprivileged")
            refused(bob.run({"argv": ["true"], "cwd": t["bob_ws"],
                             "mode": "unprivileged"}),
                    "mode", "unprivileged: bob asks alice's server for a "
                    "job (it would run as alice)")
            bob.close()
        finally:
            stop(sock, p, ALICE)
    finally:
        if elevated is not None:
            uninstall(capsid, elevated)
        shutil.rmtree(base, ignore_errors=True)
    print("ok   %d checks" % CHECKS[0])
    return 0


if __name__ == "__main__":
    run_main(main)
