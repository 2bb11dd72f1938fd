/* A workspace's change watch: fanotify, one group per workspace, a
 * filesystem mark (FAN_MARK_FILESYSTEM) on each filesystem holding a
 * recursive target, events reported as directory handle and name
 * (FAN_REPORT_DFID_NAME).
 *
 * Why a filesystem mark: it costs one call whatever the tree holds, and
 * it sees a job's changes through the bind mounts of its own mount
 * namespace (same superblock). An inode mark per directory would cost a
 * call per directory, the very walk this replaces; a mount mark reports
 * no creations, removals or renames. The price is noise: changes anywhere
 * on the filesystem are queued too. They cost a handle lookup each here
 * and are then unknown to the record, so ignored; past MAX_DIRS distinct
 * directories, or when the kernel's queue overflows, the drain reports
 * events lost and the caller checks every recorded directory, which is
 * what it did before the watch.
 *
 * Watched: entries created, removed, moved in or out, and attribute
 * changes (mode, owner, ACL: a chmod by a job narrows a file's mask). A
 * file's own content is not: it changes no grant. capsid's own attribute
 * changes (the apply's ACL writes and hand-backs, made after its checks)
 * are left out by pid, so a pass does not make work for the next. */
#include "watch-linux.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MAX_FS 8
#define EXT4_MAGIC 0xEF53L
#define XFS_MAGIC 0x58465342L
/* More distinct directories than this in one drain: a full check costs
 * less than resolving them one by one. */
#define MAX_DIRS 4096
#define EVENTS (FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO | \
                FAN_ATTRIB | FAN_ONDIR)

typedef struct fs_s {
  int fd; /* a directory on it, for open_by_handle_at */
  fsid_t fsid;
  uint64_t dev;
  long type; /* statfs f_type: which handles we can read ourselves */
} fs_t;

struct capsid__acl_watch_s {
  int fd;
  fs_t fs[MAX_FS];
  int n_fs;
  int lost;
  pid_t self;
};

/* The distinct handles of one drain (open addressing, full compare). */
typedef struct seen_s {
  uint64_t* hash;
  unsigned char** key; /* handle_type, handle_bytes, bytes */
  size_t n, mask;
} seen_t;


int capsid__acl_watch_start(const capsid__acl_plan_t* plan,
                            capsid__acl_watch_t** out) {
  capsid__acl_watch_t* w;
  struct statfs sf;
  struct stat st;
  size_t i;
  int j, fd, rc = 0;

  *out = NULL;
  w = capsid__calloc(1, sizeof(*w));
  if (w == NULL)
    return CAPSID_ENOMEM;
  w->self = getpid();
  w->fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK |
                            FAN_REPORT_DFID_NAME,
                        O_RDONLY | O_CLOEXEC);
  if (w->fd < 0) {
    capsid__free(w);
    return errno == EPERM ? CAPSID_EPERM : CAPSID_ENOTSUP;
  }
  for (i = 0; rc == 0 && i < plan->n_targets; i++) {
    if (!plan->targets[i].recursive)
      continue;
    fd = open(plan->targets[i].path,
              O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      continue; /* absent (an optional carve-out): nothing to watch */
    if (fstatfs(fd, &sf) != 0) {
      close(fd);
      rc = CAPSID_ENOTSUP;
      break;
    }
    for (j = 0; j < w->n_fs; j++)
      if (memcmp(&w->fs[j].fsid, &sf.f_fsid, sizeof(sf.f_fsid)) == 0)
        break;
    if (j < w->n_fs) {
      close(fd);
      continue;
    }
    if (w->n_fs == MAX_FS ||
        fanotify_mark(w->fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, EVENTS, fd,
                      NULL) != 0) {
      close(fd);
      rc = CAPSID_ENOTSUP; /* no file handles here, or not root */
      break;
    }
    w->fs[w->n_fs].fd = fd;
    w->fs[w->n_fs].fsid = sf.f_fsid;
    w->fs[w->n_fs].type = (long)sf.f_type;
    w->fs[w->n_fs].dev = 0;
    if (fstat(fd, &st) == 0)
      w->fs[w->n_fs].dev = (uint64_t)st.st_dev;
    w->n_fs++;
  }
  if (rc != 0) {
    capsid__acl_watch_free(w);
    return rc;
  }
  *out = w;
  return 0;
}


void capsid__acl_watch_lost(capsid__acl_watch_t* w) {
  if (w != NULL)
    w->lost = 1;
}


void capsid__acl_watch_free(capsid__acl_watch_t* w) {
  int i;

  if (w == NULL)
    return;
  for (i = 0; i < w->n_fs; i++)
    close(w->fs[i].fd);
  close(w->fd);
  capsid__free(w);
}


static int add_stat(capsid__acl_touched_t* out, int fd, const char* name) {
  struct statx s;

  if (statx(fd, name, AT_SYMLINK_NOFOLLOW | (name[0] ? 0 : AT_EMPTY_PATH),
            STATX_TYPE | STATX_INO, &s) != 0)
    return 0; /* gone since: its parent's event covers it */
  if (!S_ISDIR(s.stx_mode))
    return 0;
  return capsid__acl_touched_add(
      out, (uint64_t)makedev(s.stx_dev_major, s.stx_dev_minor), s.stx_ino);
}


/* 1 when key was already seen in this drain. */
static int seen_put(seen_t* s, const unsigned char* key, size_t len) {
  uint64_t h = capsid__fnv1a(CAPSID__FNV_BASIS, key, len);
  size_t j;

  if (s->hash == NULL) {
    s->mask = 2 * MAX_DIRS - 1;
    s->hash = capsid__calloc(s->mask + 1, sizeof(*s->hash));
    s->key = capsid__calloc(s->mask + 1, sizeof(*s->key));
    if (s->hash == NULL || s->key == NULL)
      return -1;
  }
  for (j = h & s->mask; s->key[j] != NULL; j = (j + 1) & s->mask)
    if (s->hash[j] == h && memcmp(s->key[j], key, len) == 0)
      return 1;
  if (s->n >= MAX_DIRS || (s->key[j] = capsid__malloc(len)) == NULL)
    return -1;
  memcpy(s->key[j], key, len);
  s->hash[j] = h;
  s->n++;
  return 0;
}


static void seen_free(seen_t* s) {
  size_t j;

  for (j = 0; s->key != NULL && j <= s->mask; j++)
    capsid__free(s->key[j]);
  capsid__free(s->key);
  capsid__free(s->hash);
}


/* The inode number in a handle of ext4 or XFS, read without a call
 * (their exportfs layouts: a 32-bit inode number first for types 1 and 2;
 * XFS's 64-bit ones, types 0x81 and 0x82, a 64-bit one). 0: unknown. */
static uint64_t handle_ino(const fs_t* fs, const struct file_handle* fh) {
  uint32_t i32;
  uint64_t i64;

  if (fs->type != EXT4_MAGIC && fs->type != XFS_MAGIC)
    return 0;
  if ((fh->handle_type == 1 || fh->handle_type == 2) &&
      fh->handle_bytes >= 8) {
    memcpy(&i32, fh->f_handle, 4);
    return i32;
  }
  if (fs->type == XFS_MAGIC &&
      (fh->handle_type == 0x81 || fh->handle_type == 0x82) &&
      fh->handle_bytes >= 12) {
    memcpy(&i64, fh->f_handle, 8);
    return i64;
  }
  return 0;
}


/* One info record (at rec, len bytes; events are packed, so nothing in
 * the buffer is read in place): the directory it names. A directory's
 * own change is named by its parent and its name: the tracked apply
 * looks at the recorded subdirectories of every touched directory, so
 * the parent is enough. Returns nonzero when the drain lost track. */
static int on_fid(capsid__acl_watch_t* w, seen_t* seen,
                  const unsigned char* rec, size_t len,
                  capsid__acl_touched_t* out) {
  union {
    struct file_handle fh;
    unsigned char b[sizeof(struct file_handle) + MAX_HANDLE_SZ];
  } h;
  const size_t at = offsetof(struct fanotify_event_info_fid, handle);
  fsid_t fsid;
  uint64_t ino;
  size_t hlen;
  int i, fd, rc, dup;

  if (len < at + sizeof(h.fh))
    return 1;
  memcpy(&fsid, rec + offsetof(struct fanotify_event_info_fid, fsid),
         sizeof(fsid));
  memcpy(&h.fh, rec + at, sizeof(h.fh));
  if (h.fh.handle_bytes > MAX_HANDLE_SZ ||
      (hlen = sizeof(h.fh) + h.fh.handle_bytes) > len - at)
    return 1;
  memcpy(h.b, rec + at, hlen);
  for (i = 0; i < w->n_fs; i++)
    if (memcmp(&w->fs[i].fsid, &fsid, sizeof(fsid)) == 0)
      break;
  if (i == w->n_fs)
    return 0; /* not a filesystem of this workspace */
  /* Noise from the rest of the filesystem costs no call: an inode number
   * the record does not hold matches nothing. */
  if ((ino = handle_ino(&w->fs[i], &h.fh)) != 0 && w->fs[i].dev != 0)
    return capsid__acl_touched_add(out, w->fs[i].dev, ino) != 0;
  dup = seen_put(seen, h.b, hlen);
  if (dup != 0)
    return dup < 0;
  fd = open_by_handle_at(w->fs[i].fd, &h.fh, O_PATH | O_CLOEXEC);
  if (fd < 0)
    return errno == ESTALE || errno == ENOENT ? 0 : 1; /* removed since */
  rc = add_stat(out, fd, "");
  close(fd);
  return rc != 0;
}


/* The records of one event (at ev, n bytes left in the buffer). */
static int on_event(capsid__acl_watch_t* w, seen_t* seen,
                    const unsigned char* ev, size_t n,
                    capsid__acl_touched_t* out) {
  struct fanotify_event_metadata m;
  struct fanotify_event_info_header h;
  size_t off;

  memcpy(&m, ev, sizeof(m));
  if (m.vers != FANOTIFY_METADATA_VERSION || (m.mask & FAN_Q_OVERFLOW) ||
      m.event_len > n)
    return 1;
  /* The apply's own ACL writes and hand-backs. */
  if (m.pid == w->self && !(m.mask & (EVENTS & ~(FAN_ATTRIB | FAN_ONDIR))))
    return 0;
  for (off = m.metadata_len; off + sizeof(h) <= m.event_len; off += h.len) {
    memcpy(&h, ev + off, sizeof(h));
    if (h.len < sizeof(h) || off + h.len > m.event_len)
      return 1;
    if ((h.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME ||
         h.info_type == FAN_EVENT_INFO_TYPE_DFID ||
         h.info_type == FAN_EVENT_INFO_TYPE_FID) &&
        on_fid(w, seen, ev + off, h.len, out) != 0)
      return 1;
  }
  return 0;
}


int capsid__acl_watch_drain(capsid__acl_watch_t* w,
                            capsid__acl_touched_t* out) {
  union {
    struct fanotify_event_metadata m;
    unsigned char b[65536];
  } buf;
  struct fanotify_event_metadata m;
  seen_t seen;
  ssize_t n;
  size_t off;
  int lost = w->lost;

  memset(&seen, 0, sizeof(seen));
  w->lost = 0;
  for (;;) {
    n = read(w->fd, buf.b, sizeof(buf.b));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      if (n < 0 && errno != EAGAIN)
        lost = 1;
      break;
    }
    /* Keep reading after a loss: the queue must be empty again. */
    for (off = 0; !lost && off + sizeof(m) <= (size_t)n; off += m.event_len) {
      memcpy(&m, buf.b + off, sizeof(m));
      if (m.event_len < sizeof(m) ||
          on_event(w, &seen, buf.b + off, (size_t)n - off, out) != 0)
        lost = 1;
    }
  }
  seen_free(&seen);
  return lost ? CAPSID_ERANGE : 0;
}
