/* Filesystem cases: the Codex Windows smoke cases ported to Linux, and
 * the invariants of design.md section 5 that confinement owns. */
#include "smoke.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int exists(const char* dir, const char* name) {
  char path[1024];
  struct stat st;

  snprintf(path, sizeof(path), "%s/%s", dir, name);
  return lstat(path, &st) == 0;
}


static void put(const char* dir, const char* name, const char* text) {
  char path[1024];

  snprintf(path, sizeof(path), "%s/%s", dir, name);
  assert_int_equal(test_write_file(path, text, strlen(text)), 0);
}


static char* get(const char* dir, const char* name) {
  char path[1024];

  snprintf(path, sizeof(path), "%s/%s", dir, name);
  return test_read_file(path, NULL);
}


/* read-only: writes in the cwd are refused -- by redirection, append,
 * python, touch, mkdir; workspace-write allows each. */
void smoke_read_only_denies_cwd(void** state) {
  char* ws = smoke_workspace();
  smoke_job_t ro = {.cwd = ws, .policy = "read-only", .network = -1};
  smoke_job_t rw = {.cwd = ws, .network = -1};
  char* text;

  (void)state;
  put(ws, "existing", "before\n");
  assert_int_not_equal(smoke_sh_status(&ro, "echo x > new"), 0);
  assert_false(exists(ws, "new"));
  assert_int_not_equal(smoke_sh_status(&ro, "echo more >> existing"), 0);
  assert_int_not_equal(smoke_sh_status(&ro, "touch t"), 0);
  assert_int_not_equal(smoke_sh_status(&ro, "mkdir d"), 0);
  assert_int_not_equal(smoke_sh_status(&ro, "rm existing"), 0);
  /* Landlock does not cover chmod; the read-only mounts do. */
  if (smoke_mode_ran != CAPSID_MODE_LANDLOCK_ONLY)
    assert_int_not_equal(smoke_sh_status(&ro, "chmod 777 existing"), 0);
  if (smoke_have("python3"))
    assert_int_not_equal(
        smoke_sh_status(&ro, "python3 -c \"open('py','w').write('x')\""), 0);
  assert_false(exists(ws, "t") || exists(ws, "d") || exists(ws, "py"));
  text = get(ws, "existing");
  assert_string_equal(text, "before\n");
  free(text);

  /* Controls. */
  assert_int_equal(smoke_sh_status(&rw, "echo x > new"), 0);
  assert_int_equal(smoke_sh_status(&rw, "echo more >> existing"), 0);
  if (smoke_have("python3"))
    assert_int_equal(
        smoke_sh_status(&rw, "python3 -c \"open('py','w').write('x')\""), 0);
  assert_true(exists(ws, "new"));
  text = get(ws, "existing");
  assert_string_equal(text, "before\nmore\n");
  free(text);
  smoke_rmtree(ws);
}


/* read-only: /tmp is not writable; workspace-write: it is. */
void smoke_read_only_denies_tmp(void** state) {
  char* ws = smoke_workspace();
  smoke_job_t ro = {.cwd = ws, .policy = "read-only", .network = -1};
  smoke_job_t rw = {.cwd = ws, .network = -1};
  char script[256];

  (void)state;
  snprintf(script, sizeof(script), "echo x > /tmp/%s && cat /tmp/%s",
           smoke_token(), smoke_token());
  snprintf(script, sizeof(script), "f=/tmp/%s; echo x > $f && cat $f",
           smoke_token());
  assert_int_not_equal(smoke_sh_status(&ro, script), 0);
  assert_int_equal(smoke_sh_status(&rw, script), 0);
  smoke_rmtree(ws);
}


/* workspace-write: create, append, mkdir, deep mkdir, rename, move,
 * delete, tmp -- all allowed, and visible to the host afterwards. */
void smoke_workspace_write_allows(void** state) {
  char* ws = smoke_workspace();
  smoke_job_t rw = {.cwd = ws, .network = -1};
  char* text;

  (void)state;
  put(ws, "gone", "x");
  assert_int_equal(
      smoke_sh_status(&rw, "set -e; echo a > f; echo b >> f; mkdir d; "
                           "mkdir -p deep/er/still; mv f d/f2; "
                           "mv d/f2 deep/er/still/f3; rm gone; "
                           "mv deep moved; echo t > \"${TMPDIR:-/tmp}/x$$\""),
      0);
  text = get(ws, "moved/er/still/f3");
  assert_non_null(text);
  assert_string_equal(text, "a\nb\n");
  free(text);
  assert_false(exists(ws, "gone"));
  assert_true(exists(ws, "d"));
  smoke_rmtree(ws);
}


/* A write anywhere outside the writable roots is refused; the same path
 * given as an extra writable root is allowed. */
void smoke_outside_denied(void** state) {
  char* ws = smoke_workspace();
  char* other = smoke_workspace();
  const char* roots[] = {other, NULL};
  smoke_job_t rw = {.cwd = ws, .network = -1};
  smoke_job_t extra = {.cwd = ws, .writable = roots, .network = -1};
  char script[2600];

  (void)state;
  snprintf(script, sizeof(script), "echo x > '%s/out'", other);
  assert_int_not_equal(smoke_sh_status(&rw, script), 0);
  assert_false(exists(other, "out"));
  assert_int_not_equal(smoke_sh_status(&rw, "echo x > /etc/capsid-smoke"), 0);
  assert_int_not_equal(smoke_sh_status(&rw, "echo x > ../escape"), 0);
  assert_int_equal(smoke_sh_status(&extra, script), 0);
  assert_true(exists(other, "out"));
  smoke_rmtree(ws);
  smoke_rmtree(other);
}


/* A JSON policy naming extra roots: each is writable, a sibling is not. */
void smoke_json_policy_roots(void** state) {
  char* ws = smoke_workspace();
  char* a = smoke_workspace();
  char* b = smoke_workspace();
  char policy[2048], script[2048];
  smoke_job_t job = {.cwd = ws, .policy = policy, .network = -1};

  (void)state;
  snprintf(policy, sizeof(policy),
           "{\"mode\":\"workspace-write\",\"writable_roots\":[\"%s\"],"
           "\"network_access\":false}",
           a);
  snprintf(script, sizeof(script), "echo x > '%s/in'", a);
  assert_int_equal(smoke_sh_status(&job, script), 0);
  snprintf(script, sizeof(script), "echo x > '%s/in'", b);
  assert_int_not_equal(smoke_sh_status(&job, script), 0);
  assert_true(exists(a, "in"));
  assert_false(exists(b, "in"));
  smoke_rmtree(ws);
  smoke_rmtree(a);
  smoke_rmtree(b);
}


/* Writes through a symlink to outside are refused; through one to inside
 * allowed. A hard link cannot be made to a file outside the roots. */
void smoke_links_do_not_escape(void** state) {
  char* ws = smoke_workspace();
  char* other = smoke_workspace();
  smoke_job_t rw = {.cwd = ws, .network = -1};
  char path[2600], target[1200];

  (void)state;
  put(other, "victim", "safe\n");
  snprintf(path, sizeof(path), "%s/out-link", ws);
  snprintf(target, sizeof(target), "%s/victim", other);
  assert_int_equal(symlink(target, path), 0);
  snprintf(path, sizeof(path), "%s/in-link", ws);
  assert_int_equal(symlink("inside", path), 0);
  assert_int_not_equal(smoke_sh_status(&rw, "echo bad > out-link"), 0);
  snprintf(path, sizeof(path), "ln '%s' hard", target);
  assert_int_not_equal(smoke_sh_status(&rw, path), 0);
  assert_int_equal(smoke_sh_status(&rw, "echo ok > in-link"), 0);
  {
    char* text = get(other, "victim");
    assert_string_equal(text, "safe\n");
    free(text);
  }
  assert_true(exists(ws, "inside"));
  smoke_rmtree(ws);
  smoke_rmtree(other);
}


/* A file an earlier job of workspace A created cannot be written,
 * chmod'ed or deleted by a job of workspace B; A's own job can. */
void smoke_cross_workspace(void** state) {
  char* a = smoke_workspace();
  char* b = smoke_workspace();
  smoke_job_t ja = {.cwd = a, .network = -1};
  smoke_job_t jb = {.cwd = b, .network = -1};
  char script[2600];
  struct stat st;
  char path[1200];

  (void)state;
  assert_int_equal(smoke_sh_status(&ja, "echo mine > made; chmod 644 made"),
                   0);
  snprintf(path, sizeof(path), "%s/made", a);
  snprintf(script, sizeof(script), "echo evil > '%s'", path);
  assert_int_not_equal(smoke_sh_status(&jb, script), 0);
  snprintf(script, sizeof(script), "rm -f '%s'", path);
  assert_int_not_equal(smoke_sh_status(&jb, script), 0);
  assert_true(exists(a, "made"));
  if (smoke_mode_ran != CAPSID_MODE_LANDLOCK_ONLY) {
    /* Landlock does not cover chmod: only a read-only mount does. (The
     * group bits show the ACL mask, which elevated mode's post-job
     * re-apply sets; the owner bits are the job's own.) */
    mode_t before;
    assert_int_equal(stat(path, &st), 0);
    before = st.st_mode & 07777;
    snprintf(script, sizeof(script), "chmod 000 '%s'", path);
    assert_int_not_equal(smoke_sh_status(&jb, script), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, before);
    /* Control: A's job may chmod what it makes. (In elevated mode what
     * an earlier job made belongs to the owner once that job is over:
     * a later job writes it through its grant, the owner chmods it.) */
    assert_int_equal(smoke_sh_status(&ja, "echo x > made2 && "
                                          "chmod 700 made2"),
                     0);
    snprintf(path, sizeof(path), "%s/made2", a);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0700, 0700);
    assert_int_equal(st.st_mode & 0007, 0);
    snprintf(path, sizeof(path), "%s/made", a);
  }
  assert_int_equal(smoke_sh_status(&ja, "echo again >> made && rm made"), 0);
  assert_false(exists(a, "made"));
  smoke_rmtree(a);
  smoke_rmtree(b);
}


/* .git cannot be written, renamed, replaced or removed, and no hook can
 * be planted; the rest of the workspace stays writable. */
void smoke_git_protected(void** state) {
  char* ws = smoke_workspace();
  smoke_job_t rw = {.cwd = ws, .network = -1};
  char path[1200];
  char* text;

  (void)state;
  snprintf(path, sizeof(path), "%s/.git/hooks", ws);
  assert_int_equal(test_system("mkdir -p '%s'", path), 0);
  put(ws, ".git/config", "[core]\n");
  assert_int_not_equal(smoke_sh_status(&rw, "echo x >> .git/config"), 0);
  assert_int_not_equal(
      smoke_sh_status(&rw, "printf '#!/bin/sh\\nexit 0\\n' > "
                           ".git/hooks/pre-commit"),
      0);
  assert_int_not_equal(smoke_sh_status(&rw, "mv .git .git-old"), 0);
  assert_int_not_equal(smoke_sh_status(&rw, "rm -rf .git"), 0);
  assert_int_not_equal(
      smoke_sh_status(&rw, "mkdir fake && mv fake .git"), 0);
  assert_int_not_equal(smoke_sh_status(&rw, "chmod 777 .git/config"), 0);
  text = get(ws, ".git/config");
  assert_string_equal(text, "[core]\n");
  free(text);
  assert_false(exists(ws, ".git/hooks/pre-commit"));
  assert_false(exists(ws, ".git-old"));
  /* Control: the workspace around it is writable. */
  assert_int_equal(smoke_sh_status(&rw, "echo x > code.c && mkdir -p src"),
                   0);
  assert_true(exists(ws, "code.c"));
  smoke_rmtree(ws);
}


/* A carve-out that does not exist yet cannot be created by the job (and
 * is not left behind after it); a carve-out given as a file is read-only
 * too. */
void smoke_carve_outs(void** state) {
  char* ws = smoke_workspace();
  const char* ro[] = {"secrets", "notes.txt", NULL};
  smoke_job_t rw = {.cwd = ws, .read_only = ro, .network = -1};

  (void)state;
  put(ws, "notes.txt", "keep\n");
  assert_int_not_equal(smoke_sh_status(&rw, "echo x > secrets/a"), 0);
  assert_int_not_equal(smoke_sh_status(&rw, "echo x > secrets"), 0);
  assert_false(exists(ws, "secrets"));
  assert_int_not_equal(smoke_sh_status(&rw, "echo x >> notes.txt"), 0);
  assert_int_not_equal(smoke_sh_status(&rw, "mv notes.txt n2"), 0);
  assert_int_equal(smoke_sh_status(&rw, "echo x > other"), 0);
  smoke_rmtree(ws);
}


/* A 0777 directory outside the roots is not writable, nor a 0666 file in
 * it; the same modes inside a writable root are. */
void smoke_world_writable_outside(void** state) {
  char* ws = smoke_workspace();
  char* hole = smoke_workspace();
  smoke_job_t rw = {.cwd = ws, .network = -1};
  char script[2048], path[1200];

  (void)state;
  chmod(hole, 0777);
  put(hole, "open", "x\n");
  snprintf(path, sizeof(path), "%s/open", hole);
  chmod(path, 0666);
  snprintf(script, sizeof(script), "echo y > '%s/new'", hole);
  assert_int_not_equal(smoke_sh_status(&rw, script), 0);
  snprintf(script, sizeof(script), "echo y >> '%s/open'", hole);
  assert_int_not_equal(smoke_sh_status(&rw, script), 0);
  assert_false(exists(hole, "new"));
  /* Control: the same inside the workspace. */
  assert_int_equal(smoke_sh_status(&rw, "mkdir -m 777 w && echo y > w/new "
                                        "&& chmod 666 w/new && "
                                        "echo z >> w/new"),
                   0);
  smoke_rmtree(ws);
  smoke_rmtree(hole);
}


/* The real owner can read, modify, chmod and delete whatever a job made,
 * including a file made with mode 0600 and a 0700 directory. In elevated
 * mode the workspace belongs to an ordinary user here (nobody), so the
 * owner's rights are checked as that user, not as root: what the job
 * made is the owner's once the job is over (chmod, chown, run, delete),
 * and a later job of the workspace still writes it (its ACL grant). */
void smoke_owner_keeps_access(void** state) {
  char* ws = smoke_workspace();
  smoke_job_t rw = {.cwd = ws, .network = -1};
  char path[1200];
  char* text;

  (void)state;
  if (smoke_mode_ran == CAPSID_MODE_ELEVATED)
    smoke_give_to_nobody(ws);
  assert_int_equal(smoke_sh_status(&rw, "umask 077; echo s > secret; "
                                        "chmod 600 secret; mkdir priv; "
                                        "chmod 700 priv; echo p > priv/f; "
                                        "chmod 600 priv/f"),
                   0);
  if (smoke_mode_ran == CAPSID_MODE_ELEVATED) {
    assert_int_equal(smoke_sh_status(&rw, "printf '#!/bin/sh\\necho ran\\n'"
                                          " > script.sh"),
                     0);
    /* A later job of the workspace writes them still (its grant), and
     * cannot take the owner's rights away (not the owner any more). */
    assert_int_equal(smoke_sh_status(&rw, "echo again >> secret && "
                                          "echo again >> priv/f && "
                                          "echo x > priv/g"),
                     0);
    assert_int_not_equal(smoke_sh_status(&rw, "chmod 000 secret"), 0);
    assert_int_equal(
        test_system("cd '%s' && setpriv --reuid=65534 --regid=65534 "
                    "--clear-groups sh -c 'cat secret priv/f >/dev/null && "
                    "echo more >> secret && echo q >> priv/f && "
                    "chmod 640 secret && chmod 750 priv && "
                    "chmod 600 priv/f && chmod +x script.sh && "
                    "chown 65534:65534 secret priv priv/f script.sh && "
                    "test \"$(./script.sh)\" = ran'",
                    ws),
        0);
    assert_int_equal(
        test_system("cd '%s' && setpriv --reuid=65534 --regid=65534 "
                    "--clear-groups sh -c 'cat secret priv/f priv/g "
                    ">/dev/null && rm priv/f priv/g script.sh && "
                    "rmdir priv && rm secret'",
                    ws),
        0);
    smoke_rmtree(ws);
    return;
  }
  text = get(ws, "secret");
  assert_non_null(text);
  assert_string_equal(text, "s\n");
  free(text);
  put(ws, "secret", "changed\n");
  snprintf(path, sizeof(path), "%s/secret", ws);
  assert_int_equal(chmod(path, 0644), 0);
  snprintf(path, sizeof(path), "%s/priv/f", ws);
  assert_int_equal(unlink(path), 0);
  snprintf(path, sizeof(path), "%s/priv", ws);
  assert_int_equal(rmdir(path), 0);
  smoke_rmtree(ws);
}


/* setuid/setgid binaries and file capabilities give a job nothing: it
 * runs with no_new_privs and no capability at all. */
void smoke_no_privileges(void** state) {
  char* ws = smoke_workspace();
  smoke_job_t rw = {.cwd = ws, .network = -1};
  capsid_result_t r;

  (void)state;
  smoke_sh(&rw, "grep -E '^(NoNewPrivs|CapEff|CapPrm|CapBnd|CapAmb)' "
                "/proc/self/status",
           &r);
  assert_int_equal(r.exit_code, 0);
  assert_non_null(strstr(r.out.data, "NoNewPrivs:\t1"));
  assert_non_null(strstr(r.out.data, "CapEff:\t0000000000000000"));
  assert_non_null(strstr(r.out.data, "CapPrm:\t0000000000000000"));
  if (smoke_mode_ran != CAPSID_MODE_LANDLOCK_ONLY || geteuid() == 0)
    assert_non_null(strstr(r.out.data, "CapBnd:\t0000000000000000"));
  capsid_result_free(&r);
  /* Namespaces and mounts are refused inside (seccomp); the control is
   * the host, where unshare works for root. */
  assert_int_not_equal(smoke_sh_status(&rw, "unshare -r true"), 0);
  smoke_rmtree(ws);
}


/* Tools still run. */
void smoke_tools_run(void** state) {
  char* ws = smoke_workspace();
  smoke_job_t rw = {.cwd = ws, .network = -1};

  (void)state;
  if (smoke_have("git")) {
    assert_int_equal(smoke_sh_status(&rw, "git --version"), 0);
    /* Not in the workspace's root, whose .git a job may not make. */
    assert_int_equal(smoke_sh_status(&rw, "mkdir repo && cd repo && "
                                          "git init -q . && git status "
                                          "--short && echo x > a && "
                                          "git add a"),
                     0);
  }
  if (smoke_have("python3"))
    assert_int_equal(smoke_sh_status(&rw, "python3 --version"), 0);
  assert_int_equal(smoke_sh_status(&rw, "ls / >/dev/null && cat "
                                        "/etc/hostname >/dev/null; "
                                        "echo x > /dev/null"),
                   0);
  smoke_rmtree(ws);
}


/* A bare program name is looked up in PATH as the job would: an entry
 * the job's identity cannot enter is passed over. In elevated mode the
 * first entry is a directory only root may enter (capsid, as root, finds
 * the program there first), so the job runs the copy in the second; in
 * the other modes the job's identity is the caller's, who owns the first
 * entry, and the first copy runs: the control. */
void smoke_path_lookup_as_job(void** state) {
  char* ws = smoke_workspace();
  char* bins = smoke_workspace(); /* outside ws: no grants reach it */
  char first[1200], second[1200], path_var[2500], name[64];
  const char* argv[] = {name, NULL};
  const char* env[] = {path_var, NULL};
  smoke_job_t j = {.cwd = ws, .network = -1, .env = env};
  const char* want;
  capsid_result_t r;

  (void)state;
  snprintf(name, sizeof(name), "%s-tool", smoke_token());
  snprintf(first, sizeof(first), "%s/private-bin", bins);
  snprintf(second, sizeof(second), "%s/shared-bin", bins);
  assert_int_equal(test_system("mkdir -m 700 '%s' && mkdir -m 755 '%s' && "
                               "printf '#!/bin/sh\\necho first\\n' > "
                               "'%s/%s' && printf '#!/bin/sh\\necho "
                               "second\\n' > '%s/%s' && chmod 755 '%s/%s' "
                               "'%s/%s'",
                               first, second, first, name, second, name,
                               first, name, second, name),
                   0);
  snprintf(path_var, sizeof(path_var), "PATH=%s:%s:/usr/bin:/bin", first,
           second);
  smoke_run_argv(&j, argv, &r);
  smoke_check_ran(&r);
  want = smoke_mode_ran == CAPSID_MODE_ELEVATED ? "second\n" : "first\n";
  assert_int_equal(r.exit_code, 0);
  assert_string_equal(r.out.data, want);
  capsid_result_free(&r);
  smoke_rmtree(bins);
  smoke_rmtree(ws);
}


/* /tmp is private when nothing of the job lives under it: a file a job
 * writes there does not appear on the host. /dev/shm is always private. */
void smoke_private_tmp(void** state) {
  char* ws = smoke_workspace();
  smoke_job_t rw = {.cwd = ws, .network = -1};
  char script[512], path[256];
  const char* tok = smoke_token();

  (void)state;
  snprintf(script, sizeof(script),
           "echo x > /tmp/%s && echo y > /dev/shm/%s && cat /tmp/%s", tok,
           tok, tok);
  assert_int_equal(smoke_sh_status(&rw, script), 0);
  snprintf(path, sizeof(path), "/tmp/%s", tok);
  assert_int_not_equal(access(path, F_OK), 0);
  snprintf(path, sizeof(path), "/dev/shm/%s", tok);
  assert_int_not_equal(access(path, F_OK), 0);
  smoke_rmtree(ws);
}


/* A job cannot make a set-user-ID or set-group-ID file: chmod u+s, g+s
 * or 6755, and a file created with those bits, are refused, so another
 * local user (nobody here) running the copy gains nothing, and a job of
 * workspace B neither. Writable roots are mounted nosuid inside the job.
 * Control: chmod 755 works. */
void smoke_setid_planted(void** state) {
  char* a = smoke_workspace();
  char* b = smoke_workspace();
  smoke_job_t ja = {.cwd = a, .network = -1};
  smoke_job_t jb = {.cwd = b, .network = -1};
  char script[2600];
  capsid_result_t r;
  struct stat st;
  char path[1200];
  int ran_uid = -1, ran_gid = -1, own_uid = -2, own_gid = -2;

  (void)state;
  assert_int_equal(smoke_sh_status(&ja, "cp /usr/bin/id ./id"), 0);
  assert_int_not_equal(smoke_sh_status(&ja, "chmod u+s ./id"), 0);
  assert_int_not_equal(smoke_sh_status(&ja, "chmod g+s ./id"), 0);
  assert_int_not_equal(smoke_sh_status(&ja, "chmod 6755 ./id"), 0);
  /* The mode given when creating: open(2) with O_CREAT and mknod(2). */
  if (access("/usr/bin/python3", X_OK) == 0) {
    assert_int_not_equal(
        smoke_sh_status(&ja, "/usr/bin/python3 -c \"import os; "
                             "os.close(os.open('mk', os.O_CREAT | "
                             "os.O_WRONLY, 0o4755))\""),
        0);
    assert_false(exists(a, "mk"));
    assert_int_equal( /* control: the same call, an ordinary mode */
        smoke_sh_status(&ja, "/usr/bin/python3 -c \"import os; "
                             "os.close(os.open('mk', os.O_CREAT | "
                             "os.O_WRONLY, 0o755))\""),
        0);
  }
  assert_int_not_equal(smoke_sh_status(&ja, "mkdir sg && chmod g+s sg"), 0);
  /* Control: an ordinary mode change. */
  assert_int_equal(smoke_sh_status(&ja, "cp /usr/bin/id ./id2 && "
                                        "chmod 755 ./id2 && ./id2 -u"),
                   0);
  snprintf(path, sizeof(path), "%s/id", a);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 06000, 0);
  snprintf(path, sizeof(path), "%s/sg", a);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 06000, 0);
  /* Inside the job the writable root is nosuid (the mount namespace
   * modes). */
  if (smoke_mode_ran != CAPSID_MODE_LANDLOCK_ONLY) {
    snprintf(script, sizeof(script),
             "awk '$5 == \"%s\" { print $6 }' /proc/self/mountinfo | "
             "grep -q nosuid",
             a);
    assert_int_equal(smoke_sh_status(&ja, script), 0);
  }
  /* Another local user runs the copy as itself. */
  snprintf(path, sizeof(path), "%s/id", a);
  assert_int_equal(test_system("test \"$(setpriv --reuid=65534 "
                               "--regid=65534 --clear-groups '%s' -u)\" = "
                               "65534",
                               path),
                   0);
  snprintf(script, sizeof(script), "'%s' -u; '%s' -g; id -u; id -g", path,
           path);
  smoke_sh(&jb, script, &r);
  assert_int_equal(r.exit_code, 0);
  assert_int_equal(sscanf(r.out.data, "%d %d %d %d", &ran_uid, &ran_gid,
                          &own_uid, &own_gid),
                   4);
  assert_int_equal(ran_uid, own_uid);
  assert_int_equal(ran_gid, own_gid);
  capsid_result_free(&r);
  smoke_rmtree(a);
  smoke_rmtree(b);
}
