/* What a job shares with the host and with other workspaces, beyond
 * files and the network: SysV IPC and POSIX message queues, unix sockets
 * of host daemons, capsid's own state directory; and modes that must run
 * in full or not at all (issue 13, classes 3, 7, 9 and 11). Each denial
 * has its control. */
#include "smoke.h"

#include "confine-linux.h"
#include "system.h"

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <unistd.h>

#define HELPER CAPSID_TEST_HELPER

static void need_python(void) {
  if (!smoke_have("python3")) {
    if (test_may_skip("python3 is not installed"))
      skip();
    fail();
  }
}


/* Runs the helper with one action and argument; returns its output
 * (free it) and its status in *status. */
static char* helper_out(const smoke_job_t* job, const char* action,
                        const char* arg, int* status) {
  const char* argv[] = {HELPER, action, arg, NULL};
  capsid_result_t r;
  char* out;

  smoke_run_argv(job, argv, &r);
  smoke_check_ran(&r);
  *status = r.signal ? 1000 + r.signal : r.exit_code;
  out = strdup(r.out.data ? r.out.data : "");
  capsid_result_free(&r);
  return out;
}


typedef struct seq_s {
  char* out[4];
  int status[4];
  int n;
} seq_t;


static void on_seq(capsid_job_t* job, capsid_result_t* r, void* data) {
  seq_t* s = data;

  (void)job;
  smoke_check_ran(r);
  s->status[s->n] = r->exit_code;
  s->out[s->n++] = strdup(r->out.data ? r->out.data : "");
  capsid_result_free(r);
}


/* Runs helper jobs one after the other on one runtime (elevated mode
 * keeps a workspace's namespaces per runtime): cwds[i] and action[i]. */
static void run_seq(const char* const* cwds, const char* const* actions,
                    const char* arg, int n, seq_t* s) {
  capsid_runtime_options_t ro;
  capsid_runtime_t* rt;
  capsid_job_spec_t spec;
  const char* argv[4][4];
  int i;

  memset(s, 0, sizeof(*s));
  ro = (capsid_runtime_options_t)CAPSID_RUNTIME_OPTIONS_INIT;
  ro.max_concurrency = 1;
  assert_int_equal(capsid_runtime_new(&ro, &rt), 0);
  for (i = 0; i < n; i++) {
    argv[i][0] = HELPER;
    argv[i][1] = actions[i];
    argv[i][2] = arg;
    argv[i][3] = NULL;
    spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
    spec.argv = argv[i];
    spec.cwd = cwds[i];
    spec.network = 0;
    spec.mode = smoke_mode;
    spec.timeout_ms = 30000;
    assert_int_equal(capsid_job_start(rt, &spec, on_seq, s, NULL), 0);
  }
  capsid_runtime_run(rt);
  capsid_runtime_close(rt, NULL, NULL);
  assert_int_equal(s->n, n);
}


static int mqueue_mounted(void) {
  struct statfs fs;

  return statfs("/dev/mqueue", &fs) == 0 && fs.f_type == 0x19800202;
}


/* The host user's 0600 SysV objects and message queue are out of a job's
 * reach, online and offline (with the job's own uid in unprivileged
 * mode); a job of workspace B cannot see what a job of A made; controls:
 * a job uses IPC of its own, shared with its children, and a later job of
 * A sees A's. landlock-only mode has no IPC namespace: the job gets no
 * SysV IPC or message queue at all. */
void smoke_ipc_private(void** state) {
  int lonly = smoke_mode_ran == CAPSID_MODE_LANDLOCK_ONLY;
  char* a = smoke_workspace();
  char* b = smoke_workspace();
  smoke_job_t jobs[2] = {{.cwd = a, .network = 0}, {.cwd = a, .network = 1}};
  key_t host_key = (key_t)(0x5c000000 | (getpid() & 0xfffff));
  key_t ws_key = host_key + 0x100000;
  struct mq_attr qa = {0, 4, 16, 0, {0}};
  struct msqid_ds mds;
  char key[32], qname[64], *out, *p;
  int shm, sem, msg, i, status;
  mqd_t q;
  seq_t s;

  (void)state;
  snprintf(qname, sizeof(qname), "/capsid-%s", smoke_token());
  shm = shmget(host_key, 4096, IPC_CREAT | IPC_EXCL | 0600);
  sem = semget(host_key, 1, IPC_CREAT | IPC_EXCL | 0600);
  msg = msgget(host_key, IPC_CREAT | IPC_EXCL | 0600);
  assert_true(shm >= 0 && sem >= 0 && msg >= 0);
  p = shmat(shm, NULL, 0);
  assert_true(p != (void*)-1);
  strcpy(p, "host");
  q = mq_open(qname, O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK, 0600, &qa);
  assert_true(q != (mqd_t)-1);

  snprintf(key, sizeof(key), "%ld", (long)host_key);
  for (i = 0; i < 2; i++) {
    out = helper_out(&jobs[i], "ipc-probe", key, &status);
    if (strstr(out, ":seen") != NULL ||
        (!lonly && (strstr(out, "shm:none") == NULL ||
                    strstr(out, "sem:none") == NULL ||
                    strstr(out, "msg:none") == NULL)))
      fail_msg("a job (%s) reached the host's SysV IPC: %s",
               i ? "online" : "offline", out);
    free(out);
    out = helper_out(&jobs[i], "mq-probe", qname, &status);
    if (strstr(out, "mq:none") == NULL && strstr(out, "mq:denied") == NULL &&
        strstr(out, "not permitted") == NULL)
      fail_msg("a job reached the host's message queue: %s", out);
    free(out);
  }
  /* Where the host mounts its queues at /dev/mqueue, a job sees its own
   * IPC namespace's there (it could otherwise open the host's queue by
   * path and take its messages). landlock-only has no mount namespace:
   * the names show, but seccomp refuses every message queue call and
   * Landlock a write by path. */
  if (mqueue_mounted() && !lonly) {
    char script[256];
    snprintf(script, sizeof(script), "ls -A /dev/mqueue | grep -c '%s'",
             qname + 1);
    for (i = 0; i < 2; i++)
      if (smoke_sh_status(&jobs[i], script) == 0)
        fail_msg("a job sees the host's queue %s in /dev/mqueue", qname);
  }
  /* Nothing of the host's changed. */
  assert_string_equal(p, "host");
  assert_int_equal(semctl(sem, 0, GETVAL), 0);
  assert_int_equal(msgctl(msg, IPC_STAT, &mds), 0);
  assert_int_equal((int)mds.msg_qnum, 0);
  assert_int_equal(mq_getattr(q, &qa), 0);
  assert_int_equal((int)qa.mq_curmsgs, 0);

  /* Control: IPC of the job's own, shared with its child. */
  out = helper_out(&jobs[0], "ipc-own", "-", &status);
  if (lonly)
    assert_int_not_equal(status, 0);
  else if (status != 0 || strstr(out, "ipc-own: shared") == NULL)
    fail_msg("a job cannot use SysV IPC of its own: %s", out);
  free(out);

  /* Workspace B cannot see what A made; A's next job can. */
  snprintf(key, sizeof(key), "%ld", (long)ws_key);
  {
    const char* cwds[] = {a, b, a};
    const char* actions[] = {"ipc-make", "ipc-probe", "ipc-probe"};
    run_seq(cwds, actions, key, 3, &s);
  }
  if (lonly) {
    assert_int_not_equal(s.status[0], 0);
  } else {
    assert_int_equal(s.status[0], 0);
    if (strstr(s.out[1], ":seen") != NULL ||
        strstr(s.out[1], "shm:none") == NULL)
      fail_msg("workspace B reached A's SysV IPC: %s", s.out[1]);
    if (strstr(s.out[2], "shm:seen:mine") == NULL)
      fail_msg("A's next job does not share A's IPC: %s", s.out[2]);
  }
  for (i = 0; i < s.n; i++)
    free(s.out[i]);

  shmdt(p);
  shmctl(shm, IPC_RMID, NULL);
  semctl(sem, 0, IPC_RMID);
  msgctl(msg, IPC_RMID, NULL);
  mq_close(q);
  mq_unlink(qname);
  smoke_rmtree(a);
  smoke_rmtree(b);
}


/* Binds name in dir. Through /proc/self/fd, so that dir may be longer
 * than sun_path's 108 bytes (a deep checkout's build tree is). */
static int unix_listen(const char* dir, const char* name, int type) {
  struct sockaddr_un sa;
  char path[4400];
  int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

  assert_true(fd >= 0);
  assert_true(dirfd >= 0);
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dirfd,
           name);
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  unlink(path);
  assert_int_equal(bind(fd, (struct sockaddr*)&sa, sizeof(sa)), 0);
  close(dirfd);
  /* Any identity may connect: what stops an offline job must be capsid. */
  assert_int_equal(chmod(path, 0777), 0);
  if (type == SOCK_STREAM)
    assert_int_equal(listen(fd, 64), 0);
  return fd;
}


static int dgram_received(int fd) {
  char buf[16];
  int n = 0;

  while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
    n++;
  return n;
}


/* Offline is no host socket of any kind: an agent's socket under a
 * home-like tree, a daemon's in /var/tmp and one in the workspace itself
 * cannot be connected to, nor a datagram socket sent to; online jobs
 * reach all of them (control), and an offline job still has socketpair()
 * (control). */
void smoke_offline_unix_sockets(void** state) {
  char* ws = smoke_workspace();
  smoke_job_t off = {.cwd = ws, .network = 0};
  smoke_job_t on = {.cwd = ws, .network = 1};
  static const char* names[3] = {"S.agent", "daemon.sock", "own.sock"};
  char home[4200], vt[256], dirs[3][4300], dgram[300];
  char script[sizeof(dirs) + 256]; /* gcc -O2 sizes dirs[i] as all of dirs */
  int fds[3], dfd, i;

  (void)state;
  need_python();
  snprintf(home, sizeof(home), "%s/home-%s", smoke_dir(), smoke_token());
  assert_int_equal(mkdir(home, 0755), 0);
  snprintf(dirs[0], sizeof(dirs[0]), "%s/.gnupg", home);
  assert_int_equal(mkdir(dirs[0], 0755), 0);
  snprintf(vt, sizeof(vt), "/var/tmp/capsid-sock-%s", smoke_token());
  assert_int_equal(mkdir(vt, 0755), 0);
  snprintf(dirs[1], sizeof(dirs[1]), "%s", vt);
  snprintf(dirs[2], sizeof(dirs[2]), "%s", ws);
  snprintf(dgram, sizeof(dgram), "%s/dgram.sock", vt);
  for (i = 0; i < 3; i++)
    fds[i] = unix_listen(dirs[i], names[i], SOCK_STREAM);
  dfd = unix_listen(vt, "dgram.sock", SOCK_DGRAM);

  /* Connected to by name from its directory: the whole path may be too
   * long for an address. */
  for (i = 0; i < 3; i++) {
    snprintf(script, sizeof(script),
             "cd '%s' && python3 -c \"import socket; "
             "s=socket.socket(socket.AF_UNIX); s.connect('%s'); "
             "print('connected')\"",
             dirs[i], names[i]);
    if (smoke_sh_status(&off, script) == 0)
      fail_msg("an offline job connected to %s/%s", dirs[i], names[i]);
    if (smoke_sh_status(&on, script) != 0)
      fail_msg("an online job cannot connect to %s/%s (control)", dirs[i],
               names[i]);
  }

  /* Datagrams: a socket of its own, or the datagram end of a pair, with
   * the host socket's path as the destination. */
  snprintf(script, sizeof(script),
           "python3 -c \"import socket; s=socket.socket(socket.AF_UNIX, "
           "socket.SOCK_DGRAM); s.sendto(b'x', '%s')\"",
           dgram);
  assert_int_not_equal(smoke_sh_status(&off, script), 0);
  assert_int_equal(dgram_received(dfd), 0);
  assert_int_equal(smoke_sh_status(&on, script), 0);
  assert_int_equal(dgram_received(dfd), 1);
  /* SOCK_RAW: the kernel makes a unix datagram pair of it. */
  for (i = 0; i < 2; i++) {
    snprintf(script, sizeof(script),
             "python3 -c \"import socket; a,b=socket.socketpair("
             "socket.AF_UNIX, socket.%s); a.sendto(b'x', '%s')\"",
             i ? "SOCK_RAW" : "SOCK_DGRAM", dgram);
    smoke_sh_status(&off, script);
    assert_int_equal(dgram_received(dfd), 0);
    assert_int_equal(smoke_sh_status(&on, script), 0);
    assert_int_equal(dgram_received(dfd), 1);
  }

  /* Control: a connected stream pair still works offline. */
  assert_int_equal(
      smoke_sh_status(&off, "python3 -c \"import socket; "
                            "a,b=socket.socketpair(); a.send(b'x'); "
                            "assert b.recv(1) == b'x'\""),
      0);

  for (i = 0; i < 3; i++) {
    close(fds[i]);
    snprintf(script, sizeof(script), "%s/%s", dirs[i], names[i]);
    unlink(script);
  }
  close(dfd);
  unlink(dgram);
  rmdir(vt);
  test_rmtree(home);
  smoke_rmtree(ws);
}


static void write_text(const char* path, const char* text) {
  FILE* f = fopen(path, "w");

  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}


/* Lines `ls -A dir` prints in a job, or -1 when it fails. */
static int listed(const smoke_job_t* job, const char* dir) {
  char script[4400];
  capsid_result_t r;
  int n;

  snprintf(script, sizeof(script), "ls -A '%s' | wc -l", dir);
  smoke_sh(job, script, &r);
  n = r.exit_code == 0 ? atoi(r.out.data) : -1;
  capsid_result_free(&r);
  return n;
}


/* capsid's state directory (every workspace path and its uid) can be
 * neither listed nor read by an offline or an online job; capsid itself
 * still works (control). Inside a writable root it stays hidden and
 * cannot be written, moved or removed (unprivileged); elevated mode
 * refuses a writable root that holds it. */
void smoke_state_dir_hidden(void** state) {
  int elevated = smoke_mode_ran == CAPSID_MODE_ELEVATED;
  char* ws = smoke_workspace();
  smoke_job_t jobs[2] = {{.cwd = ws, .network = 0}, {.cwd = ws, .network = 1}};
  const char* old = getenv("CAPSID_STATE_DIR");
  char* saved = old != NULL ? strdup(old) : NULL;
  char dir[4200], file[4300], script[18000];
  capsid_result_t r;
  int i;

  (void)state;
  if (elevated) {
    struct stat st;
    snprintf(dir, sizeof(dir), "%s", capsid__state_dir());
    /* Set up as root's alone: no other user reads it either. */
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal((int)st.st_uid, 0);
    assert_int_equal((int)(st.st_mode & 07777), 0700);
  } else {
    snprintf(dir, sizeof(dir), "%s/state-%s", smoke_dir(), smoke_token());
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(file, sizeof(file), "%s/capabilities.json", dir);
    write_text(file, "{\"workspaces\":[\"/secret/path\"]}\n");
    setenv("CAPSID_STATE_DIR", dir, 1);
  }
  snprintf(file, sizeof(file), "%s/capabilities.json", dir);
  assert_int_equal(access(file, R_OK), 0);
  for (i = 0; i < 2; i++) {
    if (listed(&jobs[i], dir) > 0)
      fail_msg("a job (%s) lists the state directory %s",
               i ? "online" : "offline", dir);
    snprintf(script, sizeof(script), "cat '%s'", file);
    if (smoke_sh_status(&jobs[i], script) == 0)
      fail_msg("a job reads %s", file);
  }
  /* Control: capsid still works, and the host still has its state. */
  assert_int_equal(smoke_sh_status(&jobs[0], "true"), 0);
  assert_int_equal(access(file, R_OK), 0);

  if (!elevated) {
    /* Inside the workspace: hidden, and it stays where it is. */
    test_rmtree(dir);
    snprintf(dir, sizeof(dir), "%s/.capsid-state", ws);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(file, sizeof(file), "%s/capabilities.json", dir);
    write_text(file, "{}\n");
    setenv("CAPSID_STATE_DIR", dir, 1);
    assert_true(listed(&jobs[0], dir) <= 0);
    snprintf(script, sizeof(script),
             "touch '%s/planted' || mv '%s' '%s/moved' || rm -rf '%s'", dir,
             dir, ws, dir);
    smoke_sh_status(&jobs[0], script);
    assert_int_equal(access(file, R_OK), 0);
    snprintf(file, sizeof(file), "%s/planted", dir);
    assert_int_not_equal(access(file, F_OK), 0);
  } else {
    /* A writable root holding the state directory is refused before
     * anything is granted. */
    char parent[4200], marker[4300];
    const char* roots[] = {parent, NULL};
    smoke_job_t j = {.cwd = ws, .network = 0, .writable = roots};
    snprintf(parent, sizeof(parent), "%s", dir);
    *strrchr(parent, '/') = '\0';
    snprintf(marker, sizeof(marker), "%s/ran-%s", ws, smoke_token());
    snprintf(script, sizeof(script), "touch '%s'", marker);
    smoke_run(&j, script, &r);
    assert_int_equal(r.error.code, CAPSID_EPERM);
    assert_non_null(strstr(r.error.message, "state directory"));
    capsid_result_free(&r);
    assert_int_not_equal(access(marker, F_OK), 0);
  }

  if (saved != NULL)
    setenv("CAPSID_STATE_DIR", saved, 1);
  else
    unsetenv("CAPSID_STATE_DIR");
  free(saved);
  if (!elevated)
    test_rmtree(dir);
  smoke_rmtree(ws);
}


#ifdef CAPSID_FAULT_INJECTION
/* Runs `touch NAME` in ws in mode; 1 when the file was made. */
static int ran_in(capsid_mode_t mode, const char* ws, const char* name,
                  capsid_result_t* r) {
  char script[256], path[4400];
  const char* argv[] = {"/bin/sh", "-c", script, NULL};
  capsid_job_spec_t spec;

  snprintf(script, sizeof(script), "touch %s", name);
  snprintf(path, sizeof(path), "%s/%s", ws, name);
  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  spec.argv = argv;
  spec.cwd = ws;
  spec.mode = mode;
  spec.timeout_ms = 30000;
  memset(r, 0, sizeof(*r));
  capsid_run_capture(&spec, r);
  return access(path, F_OK) == 0;
}


/* A mode asked for by name runs with everything it promises or not at
 * all: with user namespaces blocked, unprivileged is refused (it used to
 * run as landlock-only and let the job write into .git) while auto runs
 * landlock-only and says so; with Landlock off, no mode runs (unprivileged
 * used to run without it and report "unprivileged"). Control: the same
 * job runs once the host has what the mode needs. */
void smoke_modes_fail_closed(void** state) {
  int elevated = smoke_mode_ran == CAPSID_MODE_ELEVATED;
  int lonly = smoke_mode_ran == CAPSID_MODE_LANDLOCK_ONLY;
  char* ws = smoke_workspace();
  const char* old = getenv("CAPSID_STATE_DIR");
  char* saved = old != NULL ? strdup(old) : NULL;
  char nostate[4200];
  capsid_result_t r;

  (void)state;
  if (!elevated) {
    capsid__userns_force_blocked(1);
    assert_false(ran_in(CAPSID_MODE_UNPRIVILEGED, ws, "asked-unpriv", &r));
    assert_int_equal(r.error.code, CAPSID_ENOTSUP);
    assert_int_equal(r.error.stage, CAPSID_STAGE_USERNS);
    assert_non_null(strstr(r.error.message, "user namespaces"));
    capsid_result_free(&r);
    /* auto, with elevated mode out of the way: falls back and says so. */
    snprintf(nostate, sizeof(nostate), "%s/no-state", smoke_dir());
    setenv("CAPSID_STATE_DIR", nostate, 1);
    assert_true(ran_in(CAPSID_MODE_AUTO, ws, "auto-fallback", &r));
    assert_int_equal(r.error.code, 0);
    assert_int_equal(r.mode, CAPSID_MODE_LANDLOCK_ONLY);
    capsid_result_free(&r);
    capsid__userns_force_blocked(lonly);

    capsid__landlock_force_off(1);
    assert_false(ran_in(CAPSID_MODE_UNPRIVILEGED, ws, "no-ll-unpriv", &r));
    assert_int_equal(r.error.code, CAPSID_ENOTSUP);
    /* landlock-only's host lacks user namespaces too: either is named. */
    assert_non_null(strstr(r.error.message, lonly ? "cannot run here"
                                                   : "Landlock"));
    capsid_result_free(&r);
    assert_false(ran_in(CAPSID_MODE_AUTO, ws, "no-ll-auto", &r));
    assert_int_equal(r.error.code, CAPSID_ENOTSUP);
    capsid_result_free(&r);
    capsid__landlock_force_off(0);
    if (saved != NULL)
      setenv("CAPSID_STATE_DIR", saved, 1);
    else
      unsetenv("CAPSID_STATE_DIR");
  } else {
    capsid__landlock_force_off(1);
    assert_false(ran_in(CAPSID_MODE_ELEVATED, ws, "no-ll-elevated", &r));
    assert_int_not_equal(r.error.code, 0);
    assert_non_null(strstr(r.error.message, "Landlock"));
    capsid_result_free(&r);
    capsid__landlock_force_off(0);
  }
  /* Control: the variant's own mode runs the same job. */
  assert_true(ran_in(smoke_mode, ws, "control", &r));
  assert_int_equal(r.error.code, 0);
  assert_int_equal(r.mode, smoke_mode_ran);
  capsid_result_free(&r);
  free(saved);
  smoke_rmtree(ws);
}
#endif
