/* Placeholders: protected paths that do not exist yet.
 *
 * A protected path is a read-only bind mount in the job's mount
 * namespace, and a bind needs something to sit on. So .git, .codex and
 * .agents of a root where they are missing, and the first missing
 * component of a missing carve-out (policy.h, missing_protected), are
 * made here as empty directories just before the job, protected like
 * existing ones (mounts-linux.c binds them read-only: the job can neither
 * write into one nor remove, rename or replace it, EBUSY), and removed
 * after the job. Without them a job's `git init` planted hooks and
 * core.fsmonitor that ran with the owner's next git command.
 *
 * What the host keeps of them is nothing: the directory is removed after
 * the job with rmdir only, so whatever the owner put into it meanwhile
 * stays (and it is then the owner's directory: the mark goes).
 *
 * Never through a link: each is made with mkdirat in a parent opened
 * from its root one component at a time with O_NOFOLLOW, so a link a job
 * planted (cfg -> /etc) cannot make capsid, maybe root, create anything
 * outside the roots.
 *
 * Concurrent jobs of one workspace, in this process or another capsid:
 * every job holds a shared flock on each protected directory it binds,
 * placeholder or not (one made by another capsid looks like any
 * directory), for the job's life. After the job a placeholder is removed
 * only by whoever gets LOCK_EX | LOCK_NB on it, that is when no other job
 * still binds it; a job that finds the directory gone before its own
 * shared lock took starts over. A placeholder is marked (its sticky
 * bit) so that the last job to hold it removes it even when another
 * capsid made it.
 *
 * Parked between jobs: a placeholder is not removed the moment its job
 * ends but kept, still under a shared lock, for the next job of the
 * workspace, and removed once no job of this process has used it for a
 * moment (capsid__sandbox_idle, called by the runtime's idle timer and
 * when it closes). Not in elevated mode: there the post-job ACL pass
 * records the workspace directory's state, which a later removal would
 * make stale. Making and removing three directories per job costs
 * little CPU, but freeing a directory's block on a filesystem mounted
 * with `discard` waits for the device: 2-10 ms per job on these
 * machines while other processes write, most of a job's spawn time. */
#include "placeholder-linux.h"

#include "sandbox-int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* A shared lock refused means another job's release is removing it (a
 * moment) or a process of some job holds LOCK_EX on it: retried this
 * often, one millisecond apart, then the job is refused. */
#define TRIES 50

/* dir_fd/rel, a directory, opened O_PATH one component at a time, none
 * of them followed if it is a link (O_NOFOLLOW: a link is not the
 * directory O_DIRECTORY asks for). rel comes from a canonical path, so
 * it has no "." or "..": the walk stays beneath dir_fd. What
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) does, also where that
 * call is missing (valgrind does not know it). -1 with errno set. */
static int open_beneath(int dir_fd, const char* rel) {
  char name[256];
  const char* c = rel;
  size_t len;
  int fd, next, e;

  fd = openat(dir_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  while (fd >= 0 && *c != '\0') {
    len = strcspn(c, "/");
    if (len >= sizeof(name) || (len == 2 && c[0] == '.' && c[1] == '.')) {
      close(fd);
      errno = len >= sizeof(name) ? ENAMETOOLONG : EINVAL;
      return -1;
    }
    memcpy(name, c, len);
    name[len] = '\0';
    next = len == 0 || (len == 1 && c[0] == '.')
               ? fd
               : openat(fd, name,
                        O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    e = errno;
    if (next != fd)
      close(fd);
    fd = next;
    errno = e;
    c += len;
    while (*c == '/')
      c++;
  }
  return fd;
}


/* The mark of a placeholder is its sticky bit: set by mkdirat itself,
 * so a placeholder is never seen unmarked, and free (an extended
 * attribute, or a chmod of a directory with inherited ACL entries, is a
 * write to the inode's xattr block: milliseconds on a busy ext4). An
 * empty .git with the sticky bit that the owner made is not expected. */
static int has_mark(int fd) {
  struct stat st;

  return fstat(fd, &st) == 0 && (st.st_mode & S_ISVTX) != 0;
}


/* Declared in placeholder-linux.h. */
int capsid__placeholder_is(const char* path) {
  /* getdents64 into a small buffer: emptiness needs no DIR*. */
  union {
    uint64_t align;
    char b[1024];
  } buf;
  struct stat st;
  long n, off;
  unsigned short reclen;
  const char* name;
  int fd, empty = 1;

  if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode) ||
      (st.st_mode & S_ISVTX) == 0)
    return 0;
  fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return 0;
  /* A linux_dirent64: inode (8), offset (8), record length (2), type (1),
   * then the name. */
  while (empty && (n = syscall(SYS_getdents64, fd, buf.b, sizeof(buf))) > 0)
    for (off = 0; empty && off < n; off += reclen) {
      memcpy(&reclen, buf.b + off + 16, sizeof(reclen));
      name = buf.b + off + 19;
      empty = strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
      if (reclen == 0)
        break;
    }
  empty &= n >= 0;
  close(fd);
  return empty;
}


/* A new placeholder belongs to the workspace's owner (in elevated mode
 * root made it), so the owner can use it while the job runs. Its ACL is
 * what the root's default entries give every new directory, masked to
 * r-x by the mode: the workspace identity cannot write into it even
 * without the bind. */
static void finish_new(int fd, int root_fd) {
  struct stat st, own;

  if (geteuid() == 0 && fstat(root_fd, &st) == 0 && fstat(fd, &own) == 0 &&
      (st.st_uid != own.st_uid || st.st_gid != own.st_gid))
    (void)fchown(fd, st.st_uid, st.st_gid);
}


/* A directory capsid may not create here (a read-only filesystem, a
 * root the caller may not write) is one the job may not create either:
 * its identity has no more rights there than capsid's own (unprivileged:
 * the same uid; elevated: root, refused only by a read-only mount). */
static int cannot_write(int e) {
  return e == EACCES || e == EPERM || e == EROFS;
}


/* Is fd still what parent_fd/name names (not removed, not replaced)? */
static int still_there(int parent_fd, const char* name, int fd) {
  struct stat a, b;

  return fstat(fd, &a) == 0 && a.st_nlink > 0 &&
         fstatat(parent_fd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
         a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}


/* rmdir of parent_fd/name, which fd holds open, when no other job holds
 * it (LOCK_EX) and it is still that directory: 0 when removed, else -1
 * with errno (EBUSY: held or replaced). */
static int remove_if_free(int parent_fd, const char* name, int fd) {
  if (flock(fd, LOCK_EX | LOCK_NB) != 0 || !still_there(parent_fd, name, fd)) {
    errno = EBUSY;
    return -1;
  }
  return unlinkat(parent_fd, name, AT_REMOVEDIR);
}


static int fail(capsid_error_t* err, int e, const char* path,
                const char* why) {
  return capsid__error_set(err, capsid__translate_os_error(e),
                           CAPSID_STAGE_MOUNT, e, path, "read_only_paths",
                           "cannot protect %s: %s", path, why);
}


static int push(capsid__placeholders_t* ph, int parent_fd, int fd,
                const char* name, int made) {
  capsid__guard_t* v;
  char* copy = capsid__strdup(name);

  v = copy == NULL ? NULL
                   : capsid__realloc(ph->v, (ph->n + 1) * sizeof(*ph->v));
  if (v == NULL) {
    capsid__free(copy);
    return CAPSID_ENOMEM;
  }
  ph->v = v;
  v[ph->n].parent_fd = parent_fd;
  v[ph->n].fd = fd;
  v[ph->n].name = copy;
  v[ph->n].made = made;
  ph->n++;
  return 0;
}


/* Makes (create) or opens the directory at path and holds a shared lock
 * on it. A path that is not a directory, or that create=0 finds gone, is
 * not held: it is no placeholder. */
static int hold_one(capsid__placeholders_t* ph, const char* root,
                    const char* path, int create, capsid_error_t* err) {
  const char* rel = path + strlen(root);
  const char* name;
  char* parent_rel;
  struct timespec ms = {0, 1000000};
  int root_fd, parent_fd, fd = -1, made = 0, made_now, tries, e, rc;

  while (*rel == '/')
    rel++;
  name = strrchr(rel, '/');
  parent_rel = name == NULL ? capsid__strdup(".")
                            : capsid__strndup(rel, (size_t)(name - rel));
  name = name == NULL ? rel : name + 1;
  if (parent_rel == NULL)
    return CAPSID_ENOMEM;
  root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  parent_fd = root_fd < 0 ? -1 : open_beneath(root_fd, parent_rel);
  e = errno;
  capsid__free(parent_rel);
  if (parent_fd < 0) {
    if (root_fd >= 0)
      close(root_fd);
    if (!create)
      return 0;
    return fail(err, e, path,
                e == ELOOP || e == ENOTDIR
                    ? "a directory on its way is a symbolic link or no "
                      "directory (changed since the policy was resolved)"
                    : "cannot open the directory that holds it");
  }
  for (tries = 0; tries < TRIES; tries++) {
    made_now = create && mkdirat(parent_fd, name, S_ISVTX | 0755) == 0;
    made |= made_now;
    if (create && !made_now && cannot_write(errno)) {
      rc = 0; /* nor can the job: nothing to protect (mounts skip it) */
      goto out;
    }
    if (create && !made_now && errno != EEXIST) {
      rc = fail(err, errno, path, "cannot create it");
      goto out;
    }
    fd = openat(parent_fd, name,
                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT && create)
        continue; /* another job's release removed it just now */
      rc = !create || errno == ENOTDIR ? 0 /* a file: its bind is enough */
           : fail(err, errno, path,
                  errno == ELOOP ? "it is a symbolic link" : "cannot open it");
      goto out;
    }
    if (made_now)
      finish_new(fd, root_fd);
    if (flock(fd, LOCK_SH | LOCK_NB) == 0 && still_there(parent_fd, name, fd))
      break;
    close(fd);
    fd = -1;
    nanosleep(&ms, NULL);
  }
  if (fd < 0) {
    rc = fail(err, EBUSY, path, "another process keeps it locked");
    goto out;
  }
  rc = push(ph, parent_fd, fd, name, made);
  if (rc == 0) {
    close(root_fd);
    return 0;
  }
out:
  /* The job will not run: what this call made goes, as after a job. */
  if (made && fd < 0)
    fd = openat(parent_fd, name,
                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0 && made && has_mark(fd))
    (void)remove_if_free(parent_fd, name, fd);
  if (fd >= 0)
    close(fd);
  close(parent_fd);
  close(root_fd);
  return rc;
}


int capsid__placeholders_hold(capsid__placeholders_t* ph,
                              const capsid__sandbox_t* sb,
                              capsid_error_t* err) {
  const char* root;
  size_t i;
  int rc = 0;

  memset(ph, 0, sizeof(*ph));
  for (i = 0; rc == 0 && i < sb->missing_protected.n; i++) {
    root = capsid__sandbox_root_of(sb, sb->missing_protected.v[i], 1);
    if (root == NULL)
      rc = fail(err, EINVAL, sb->missing_protected.v[i],
                "it is not inside a writable root");
    else
      rc = hold_one(ph, root, sb->missing_protected.v[i], 1, err);
  }
  /* An existing protected directory may be another job's placeholder. */
  for (i = 0; rc == 0 && i < sb->protected_paths.n; i++) {
    root = capsid__sandbox_root_of(sb, sb->protected_paths.v[i], 1);
    if (root != NULL &&
        !capsid__strv_contains(&sb->missing_protected,
                               sb->protected_paths.v[i]))
      rc = hold_one(ph, root, sb->protected_paths.v[i], 0, err);
  }
  if (rc != 0)
    capsid__placeholders_release(ph, 0);
  return rc;
}


/* What release parks: a guard of a placeholder (made by some job, still
 * marked) with the time its last job ended. One entry per directory, so
 * the shared locks this process holds never keep its own sweep from the
 * exclusive one. Bounded: beyond PARK_MAX the oldest goes at once. */
#define PARK_MAX 64

typedef struct parked_s {
  capsid__guard_t g;
  dev_t dev;
  ino_t ino;
  uint64_t at_ms;
} parked_t;

static pthread_mutex_t park_lock = PTHREAD_MUTEX_INITIALIZER;
static parked_t parked[PARK_MAX];
static size_t n_parked;


static uint64_t now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}


static void drop_guard(capsid__guard_t* g) {
  close(g->fd);
  close(g->parent_fd);
  capsid__free(g->name);
}


/* Removes g's directory if some job made it or it is still marked, no
 * other job holds it, and it is empty and there (rmdir only, so what the owner put there is kept, and
 * is the owner's from then on: the mark goes), then lets go of g. */
static void remove_guard(capsid__guard_t* g) {
  struct stat st;

  if ((g->made || has_mark(g->fd)) &&
      remove_if_free(g->parent_fd, g->name, g->fd) != 0 &&
      (errno == ENOTEMPTY || errno == EEXIST) && fstat(g->fd, &st) == 0)
    (void)fchmod(g->fd, st.st_mode & 0777);
  drop_guard(g);
}


/* Under park_lock. Takes g over: parks it, or lets it go when the same
 * directory is parked already (that entry's time is renewed). */
static void park(capsid__guard_t* g, const struct stat* st, uint64_t now) {
  size_t i, oldest = 0;

  for (i = 0; i < n_parked; i++)
    if (parked[i].dev == st->st_dev && parked[i].ino == st->st_ino) {
      parked[i].at_ms = now;
      parked[i].g.made |= g->made;
      drop_guard(g);
      return;
    }
  if (n_parked == PARK_MAX) {
    for (i = 1; i < n_parked; i++)
      if (parked[i].at_ms < parked[oldest].at_ms)
        oldest = i;
    remove_guard(&parked[oldest].g);
    parked[oldest] = parked[--n_parked];
  }
  parked[n_parked].g = *g;
  parked[n_parked].dev = st->st_dev;
  parked[n_parked].ino = st->st_ino;
  parked[n_parked].at_ms = now;
  n_parked++;
}


void capsid__placeholders_release(capsid__placeholders_t* ph, int keep) {
  struct stat st;
  capsid__guard_t* g;
  uint64_t now = now_ms();
  size_t i;

  pthread_mutex_lock(&park_lock);
  for (i = ph->n; i-- > 0;) {
    g = &ph->v[i];
    if (!keep)
      remove_guard(g);
    else if ((g->made || has_mark(g->fd)) && fstat(g->fd, &st) == 0 &&
             st.st_nlink > 0)
      park(g, &st, now);
    else
      drop_guard(g);
  }
  pthread_mutex_unlock(&park_lock);
  capsid__free(ph->v);
  ph->v = NULL;
  ph->n = 0;
}


unsigned capsid__sandbox_idle(uint64_t idle_ms) {
  uint64_t now = now_ms();
  unsigned left;
  size_t i = 0;

  pthread_mutex_lock(&park_lock);
  while (i < n_parked) {
    if (idle_ms == 0 || now - parked[i].at_ms >= idle_ms) {
      /* A job still holding it keeps it (LOCK_EX fails); that job's
       * release parks it again. */
      remove_guard(&parked[i].g);
      parked[i] = parked[--n_parked];
    } else {
      i++;
    }
  }
  left = (unsigned)n_parked;
  pthread_mutex_unlock(&park_lock);
  return left;
}
