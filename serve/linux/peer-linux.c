/* Who a client is (SO_PEERCRED, SO_PEERGROUPS), what its own credentials
 * let it reach, and the Unix socket the server listens on. */
#include "serve-int.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>


uint32_t serve__self_uid(void) {
  return (uint32_t)geteuid();
}


void serve__peer_self(serve_peer_t* out) {
  gid_t groups[SERVE_MAX_GROUPS];
  int i, n;

  memset(out, 0, sizeof(*out));
  out->uid = (uint32_t)geteuid();
  out->gid = (uint32_t)getegid();
  out->pid = (int)getpid();
  n = getgroups(SERVE_MAX_GROUPS, groups);
  for (i = 0; i < n; i++)
    out->groups[i] = (uint32_t)groups[i];
  out->n_groups = n > 0 ? n : 0;
}


void serve__peer_release(serve_peer_t* peer) {
  (void)peer; /* the credentials are numbers: nothing is held */
}


int serve__peer_of(uv_pipe_t* pipe, serve_peer_t* out) {
  struct ucred cred;
  gid_t groups[SERVE_MAX_GROUPS];
  socklen_t len = sizeof(cred);
  uv_os_fd_t fd;
  int i, n;

  memset(out, 0, sizeof(*out));
  if (uv_fileno((uv_handle_t*)pipe, &fd) != 0)
    return -1;
  /* The kernel's record of who connected: nothing the client says. */
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return -1;
  out->uid = (uint32_t)cred.uid;
  out->gid = (uint32_t)cred.gid;
  out->pid = (int)cred.pid;
  len = sizeof(groups);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0)
    return -1; /* a client with too many groups is refused, not trimmed */
  n = (int)(len / sizeof(gid_t));
  for (i = 0; i < n; i++)
    out->groups[i] = (uint32_t)groups[i];
  out->n_groups = n;
  return 0;
}


/* ------------------------------------------------------------------------ */
/* Checks with the client's credentials                                     */

typedef struct check_s {
  const serve_peer_t* peer;
  serve_path_t* paths;
  size_t n;
  int switch_ids;     /* take the peer's ids (root server, other user) */
  int missing_ok;     /* a path that does not exist is not refused */
  int os_error;       /* setting the ids failed */
  size_t failed;      /* index of the refused path, or n */
  int failed_errno;
  const char* why;
} check_t;


/* Takes the client's uid, gid and groups with the raw system calls, which
 * change the calling thread only (glibc's wrappers would change every
 * thread of the server). Every lookup of run_checks is then the kernel's
 * answer for the client: search permission on each directory on the
 * way, each symbolic link followed, ACLs included. Returns 0 or errno. */
static int take_ids(const serve_peer_t* peer) {
  gid_t groups[SERVE_MAX_GROUPS];
  int k;

  for (k = 0; k < peer->n_groups; k++)
    groups[k] = (gid_t)peer->groups[k];
  if (syscall(SYS_setgroups, (long)peer->n_groups, groups) != 0 ||
      syscall(SYS_setresgid, (long)peer->gid, (long)peer->gid,
              (long)peer->gid) != 0 ||
      syscall(SYS_setresuid, (long)peer->uid, (long)peer->uid,
              (long)peer->uid) != 0)
    return errno;
  return 0;
}


/* The calling thread still holds exactly peer's ids. A persistent checker
 * asks before every check: a glibc set*id call anywhere in the process
 * would change every thread's ids (the server makes none; this keeps it
 * failing closed if one ever does). */
static int ids_held(const serve_peer_t* peer) {
  uid_t r, e, s;
  gid_t gr, ge, gs, groups[SERVE_MAX_GROUPS];
  long n;
  int k;

  if (syscall(SYS_getresuid, &r, &e, &s) != 0 ||
      syscall(SYS_getresgid, &gr, &ge, &gs) != 0 ||
      (n = syscall(SYS_getgroups, SERVE_MAX_GROUPS, groups)) < 0)
    return 0;
  if (r != peer->uid || e != peer->uid || s != peer->uid ||
      gr != peer->gid || ge != peer->gid || gs != peer->gid ||
      n != peer->n_groups)
    return 0;
  /* The kernel keeps groups sorted: compare as sets. */
  for (k = 0; k < n; k++) {
    int j;
    for (j = 0; j < peer->n_groups && groups[k] != peer->groups[j]; j++)
      ;
    if (j == peer->n_groups)
      return 0;
  }
  return 1;
}


static void run_checks(check_t* c) {
  char buf[PATH_MAX];
  struct stat st;
  size_t i;
  int mode;

  c->failed = c->n;
  for (i = 0; i < c->n; i++) {
    serve_path_t* p = &c->paths[i];
    const char* given = p->given;
    char joined[PATH_MAX];
    /* A relative root is relative to the job's cwd (checked first), as
     * policy resolution takes it. */
    if (given[0] != '/' && i > 0 && c->paths[0].canon != NULL) {
      if ((size_t)snprintf(joined, sizeof(joined), "%s/%s",
                           c->paths[0].canon, given) >= sizeof(joined)) {
        c->failed = i;
        c->failed_errno = ENAMETOOLONG;
        c->why = "the path is too long";
        return;
      }
      given = joined;
    }
    if (realpath(given, buf) == NULL) {
      /* Missing for the client is missing for the server too: the
       * owner's job then fails in the library, as a local run would. */
      if (c->missing_ok && (errno == ENOENT || errno == ENOTDIR))
        continue;
      c->failed = i;
      c->failed_errno = errno;
      c->why = "the client cannot reach it";
      return;
    }
    if (c->missing_ok && (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)))
      continue; /* the library says what is wrong with it */
    p->canon = capsid__strdup(buf);
    if (p->canon == NULL || stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
      c->failed = i;
      c->failed_errno = p->canon == NULL ? ENOMEM : errno ? errno : ENOTDIR;
      c->why = "it is not a directory";
      return;
    }
    mode = p->want_write ? (W_OK | X_OK) : (R_OK | X_OK);
    if (access(buf, mode) != 0) {
      c->failed = i;
      c->failed_errno = errno;
      c->why = p->want_write ? "the client may not write it"
                             : "the client may not read it";
      return;
    }
    if (p->want_owner && st.st_uid != (uid_t)c->peer->uid) {
      c->failed = i;
      c->failed_errno = EPERM;
      c->why = "it is not owned by the client (another user's job may "
               "write only its own directories)";
      return;
    }
  }
}


/* A thread that holds one client's credentials for as long as the server
 * runs, so a user's every request does not start and end a thread: the
 * credentials are those the kernel gave for the connection (uid, gid and
 * every group), and only a request with exactly those is handed to it.
 * Only the loop thread hands work over, and waits for it. */
typedef struct checker_s {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t thread;
  serve_peer_t ids;
  int ready;     /* the thread has tried to take the ids */
  int ids_error; /* ... and failed with this errno: it has ended */
  check_t* work; /* a check to run, NULL when done */
} checker_t;

#define SERVE_CHECKERS_MAX 16
static checker_t* checkers[SERVE_CHECKERS_MAX];
static int n_checkers;


static void* checker_main(void* arg) {
  checker_t* k = arg;
  int err = take_ids(&k->ids);

  pthread_mutex_lock(&k->mu);
  k->ids_error = err;
  k->ready = 1;
  pthread_cond_broadcast(&k->cv);
  while (err == 0) {
    while (k->work == NULL)
      pthread_cond_wait(&k->cv, &k->mu);
    pthread_mutex_unlock(&k->mu);
    if (ids_held(&k->ids))
      run_checks(k->work);
    else
      k->work->os_error = EPERM;
    pthread_mutex_lock(&k->mu);
    k->work = NULL;
    pthread_cond_broadcast(&k->cv);
  }
  pthread_mutex_unlock(&k->mu);
  return NULL;
}


static int same_ids(const serve_peer_t* a, const serve_peer_t* b) {
  return a->uid == b->uid && a->gid == b->gid &&
         a->n_groups == b->n_groups &&
         memcmp(a->groups, b->groups,
                (size_t)a->n_groups * sizeof(a->groups[0])) == 0;
}


/* The checker holding peer's ids, started if need be; NULL when none can
 * be kept (then a thread is started for this check alone). */
static checker_t* checker_for(const serve_peer_t* peer) {
  pthread_attr_t attr;
  checker_t* k;
  int i, rc;

  for (i = 0; i < n_checkers; i++)
    if (same_ids(&checkers[i]->ids, peer))
      return checkers[i];
  if (n_checkers == SERVE_CHECKERS_MAX ||
      (k = capsid__calloc(1, sizeof(*k))) == NULL)
    return NULL;
  k->ids = *peer;
  pthread_mutex_init(&k->mu, NULL);
  pthread_cond_init(&k->cv, NULL);
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 << 10);
  rc = pthread_create(&k->thread, &attr, checker_main, k);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    pthread_mutex_destroy(&k->mu);
    pthread_cond_destroy(&k->cv);
    capsid__free(k);
    return NULL;
  }
  checkers[n_checkers++] = k;
  return k;
}


static void checker_drop(checker_t* k) {
  int i;

  for (i = 0; i < n_checkers; i++)
    if (checkers[i] == k)
      checkers[i] = checkers[--n_checkers];
  pthread_join(k->thread, NULL);
  pthread_mutex_destroy(&k->mu);
  pthread_cond_destroy(&k->cv);
  capsid__free(k);
}


/* Runs c on the checker of its peer. Returns 0, or -1 when there is no
 * checker to run it on. */
static int checker_run(check_t* c) {
  checker_t* k = checker_for(c->peer);

  if (k == NULL)
    return -1;
  pthread_mutex_lock(&k->mu);
  while (!k->ready)
    pthread_cond_wait(&k->cv, &k->mu);
  if (k->ids_error != 0) {
    c->os_error = k->ids_error;
    pthread_mutex_unlock(&k->mu);
    checker_drop(k); /* the next request tries again */
    return 0;
  }
  k->work = c;
  pthread_cond_broadcast(&k->cv);
  while (k->work != NULL)
    pthread_cond_wait(&k->cv, &k->mu);
  pthread_mutex_unlock(&k->mu);
  return 0;
}


/* A thread for one check, when no checker can be kept. */
static void* check_once(void* arg) {
  check_t* c = arg;

  if ((c->os_error = take_ids(c->peer)) == 0)
    run_checks(c);
  return NULL;
}


int serve__check_paths(const serve_peer_t* peer, serve_path_t* paths,
                       size_t n, int missing_ok, capsid_error_t* err) {
  check_t c;
  pthread_t t;
  int rc;

  memset(&c, 0, sizeof(c));
  c.peer = peer;
  c.paths = paths;
  c.n = n;
  c.switch_ids = geteuid() == 0 && peer->uid != 0;
  c.missing_ok = missing_ok;
  /* Short and bounded: a few lookups. The loop waits for them. */
  if (!c.switch_ids) {
    /* The server's own ids are the client's (its own user), or root's for
     * a root client: nothing to take, so no thread at all. */
    run_checks(&c);
  } else if (checker_run(&c) != 0) {
    rc = pthread_create(&t, NULL, check_once, &c);
    if (rc != 0)
      return capsid__error_set(err, CAPSID_EAGAIN, CAPSID_STAGE_POLICY, rc,
                               NULL, NULL,
                               "cannot start the credential check");
    pthread_join(t, NULL);
  }
  if (c.os_error != 0)
    return capsid__error_set(err, CAPSID_EPERM, CAPSID_STAGE_IDENTITY,
                             c.os_error, NULL, NULL,
                             "cannot take the client's credentials (uid %u) "
                             "to check its paths",
                             peer->uid);
  if (c.failed < n)
    return capsid__error_set(err, CAPSID_EPERM, CAPSID_STAGE_POLICY,
                             c.failed_errno, paths[c.failed].given,
                             paths[c.failed].field,
                             "%s \"%s\" is refused: %s (checked as uid %u)",
                             paths[c.failed].field, paths[c.failed].given,
                             c.why, peer->uid);
  return 0;
}


/* ------------------------------------------------------------------------ */
/* The socket                                                               */

char* serve_default_socket(void) {
  const char* dir;

  if (geteuid() == 0)
    return capsid__strdup("/run/capsid/capsid.sock");
  dir = getenv("XDG_RUNTIME_DIR");
  if (dir == NULL || dir[0] != '/')
    return NULL;
  return capsid__sprintf("%s/capsid/capsid.sock", dir);
}


int serve_activation_fd(void) {
  const char* pid = getenv("LISTEN_PID");
  const char* fds = getenv("LISTEN_FDS");
  int fd = 3; /* SD_LISTEN_FDS_START */
  struct stat st;

  if (pid == NULL || fds == NULL || strtol(pid, NULL, 10) != (long)getpid())
    return -1;
  /* Activation was meant for us: never fall back to another socket. */
  if (strtol(fds, NULL, 10) < 1 || fstat(fd, &st) != 0 ||
      !S_ISSOCK(st.st_mode))
    return -2;
  /* Not for the jobs' children: systemd's variables name this process. */
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  return fd;
}


/* A socket left by a server that died: nobody answers on it. */
static int stale_socket(const char* path) {
  struct sockaddr_un sa;
  int fd, rc;

  if (strlen(path) >= sizeof(sa.sun_path))
    return 0;
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, strlen(path) + 1);
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return 0;
  rc = connect(fd, (struct sockaddr*)&sa, sizeof(sa));
  close(fd);
  return rc != 0 && errno == ECONNREFUSED;
}


int serve__listen(serve_t* srv, const char* path, int mode) {
  char dir[PATH_MAX];
  struct stat st;
  char* slash;
  mode_t old;
  int rc;

  if (path == NULL || strlen(path) >= sizeof(dir)) {
    fprintf(stderr, "capsid serve: no socket path (give --socket PATH)\n");
    return CAPSID_EINVAL;
  }
  snprintf(dir, sizeof(dir), "%s", path);
  slash = strrchr(dir, '/');
  if (slash != NULL && slash != dir) {
    *slash = '\0';
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
      fprintf(stderr, "capsid serve: cannot create %s: %s\n", dir,
              strerror(errno));
      return CAPSID_EIO;
    }
  }
  if (lstat(path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode) || !stale_socket(path)) {
      fprintf(stderr, "capsid serve: %s exists and %s\n", path,
              S_ISSOCK(st.st_mode) ? "a server answers on it"
                                   : "is not a socket");
      return CAPSID_EEXIST;
    }
    unlink(path);
  }
  if (mode < 0)
    mode = srv->opt.n_allow_uids + srv->opt.n_allow_gids > 0 ? 0666 : 0600;
  /* Created with the mode itself, never more open than asked, and with
   * no chmod by name afterwards (in a directory others can write, the
   * name could be a link by then). */
  old = umask((mode_t)(~mode & 0777));
  rc = uv_pipe_bind(&srv->listener, path);
  umask(old);
  if (rc != 0) {
    fprintf(stderr, "capsid serve: cannot listen on %s: %s\n", path,
            uv_strerror(rc));
    return CAPSID_EIO;
  }
  srv->socket_path = capsid__strdup(path);
  return 0;
}


int serve_user_id(const char* name, uint32_t* uid) {
  struct passwd* pw;
  char* end;
  unsigned long v = strtoul(name, &end, 10);

  if (*name != '\0' && *end == '\0') {
    *uid = (uint32_t)v;
    return 0;
  }
  pw = getpwnam(name);
  if (pw == NULL)
    return -1;
  *uid = (uint32_t)pw->pw_uid;
  return 0;
}


int serve_group_id(const char* name, uint32_t* gid) {
  struct group* gr;
  char* end;
  unsigned long v = strtoul(name, &end, 10);

  if (*name != '\0' && *end == '\0') {
    *gid = (uint32_t)v;
    return 0;
  }
  gr = getgrnam(name);
  if (gr == NULL)
    return -1;
  *gid = (uint32_t)gr->gr_gid;
  return 0;
}
