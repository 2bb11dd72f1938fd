/* Uninstall's hand-back: every inode beneath a workspace root that a
 * capsid identity owns (uid or gid in the reserved range) goes to the
 * owner of the root, at any depth, whatever its type; and the check that
 * follows counts what is still owned by, or still names, such an id.
 *
 * The walk keeps a stack of directories, not a recursion: a tree 10,000
 * levels deep needs no long path and no deep C stack. At most MAX_OPEN
 * directory fds stay open; a directory whose fd was closed to make room
 * is opened again through its child's ".." and must be the same inode
 * (dev, ino) as before, else the walk stops and says so. Symlinks are
 * never followed; other filesystems are not entered. Each inode is
 * changed through an O_PATH handle checked again after it was opened, so
 * a name swapped meanwhile is seen for what it now is. */
#include "handback-linux.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_OPEN 32
#define XATTR_ACCESS "system.posix_acl_access"
#define XATTR_DEFAULT "system.posix_acl_default"

typedef struct frame_s {
  int fd; /* -1 while closed to make room */
  dev_t dev;
  ino_t ino;
  char** names; /* the directory's entries, read when entered */
  size_t n, next;
  size_t path_len; /* of walk->path for this directory */
} frame_t;

typedef struct walk_s {
  const capsid__handback_t* hb;
  capsid__handback_stats_t* out;
  uid_t owner;
  gid_t group;
  dev_t dev;
  frame_t* v;
  size_t n, cap;
  size_t n_open, low_open; /* open fds are frames [low_open, n) */
  char* path;              /* for messages */
  size_t path_cap;
} walk_t;


static int in_range(const capsid__handback_t* hb, uint32_t id) {
  return id >= hb->first && id - hb->first < hb->count;
}


/* Named entries of a POSIX ACL xattr that name an id of the range.
 * follow: path is a /proc/self/fd link to the inode (never a symlink). */
static unsigned long acl_names_range(const capsid__handback_t* hb,
                                     const char* path, const char* attr,
                                     int follow) {
  unsigned char buf[4 + 8 * 512];
  unsigned long n = 0;
  ssize_t len = follow ? getxattr(path, attr, buf, sizeof(buf))
                       : lgetxattr(path, attr, buf, sizeof(buf));
  ssize_t i;
  unsigned tag;
  uint32_t id;

  for (i = 4; len > 4 && i + 8 <= len; i += 8) {
    tag = (unsigned)buf[i] | (unsigned)buf[i + 1] << 8;
    id = (uint32_t)buf[i + 4] | (uint32_t)buf[i + 5] << 8 |
         (uint32_t)buf[i + 6] << 16 | (uint32_t)buf[i + 7] << 24;
    if ((tag == 0x02 || tag == 0x08) && in_range(hb, id))
      n++;
  }
  return n;
}


static void note(walk_t* w, const char* name, unsigned long* counter) {
  (*counter)++;
  if (w->out->first_left[0] == '\0')
    snprintf(w->out->first_left, sizeof(w->out->first_left), "%.*s%s%s",
             (int)(w->n ? w->v[w->n - 1].path_len : 0), w->path,
             name ? "/" : "", name ? name : "");
}


/* One inode, by name beneath dirfd: handed back (or, verifying, looked
 * at) through a handle on the inode that was checked. */
static void one(walk_t* w, int dirfd, const char* name,
                const struct stat* seen) {
  const capsid__handback_t* hb = w->hb;
  struct stat st;
  char proc[64];
  int fd, owned;

  fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return; /* gone */
  snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
  if (fstat(fd, &st) != 0 || st.st_ino != seen->st_ino ||
      st.st_dev != w->dev) {
    close(fd);
    return;
  }
  owned = in_range(hb, st.st_uid) || in_range(hb, st.st_gid);
  if (hb->verify) {
    if (owned || (!S_ISLNK(st.st_mode) &&
                  (acl_names_range(hb, proc, XATTR_ACCESS, 1) > 0 ||
                   (S_ISDIR(st.st_mode) &&
                    acl_names_range(hb, proc, XATTR_DEFAULT, 1) > 0))))
      note(w, name, &w->out->left);
    close(fd);
    return;
  }
  if (!owned) {
    close(fd);
    return;
  }
  /* Set-id bits go before the owner changes: never a set-id file of the
   * owner, even for a moment. */
  if ((S_ISREG(st.st_mode) && (st.st_mode & (S_ISUID | S_ISGID)) &&
       chmod(proc, st.st_mode & 01777) != 0) ||
      fchownat(fd, "", in_range(hb, st.st_uid) ? w->owner : (uid_t)-1,
               in_range(hb, st.st_gid) ? w->group : (gid_t)-1,
               AT_EMPTY_PATH) != 0) {
    note(w, name, &w->out->errors);
    close(fd);
    return;
  }
  w->out->changed++;
  /* What such an inode holds is what it inherited from capsid's default
   * entries. A symlink has no ACL. */
  if (!S_ISLNK(st.st_mode)) {
    removexattr(proc, XATTR_ACCESS);
    if (S_ISDIR(st.st_mode))
      removexattr(proc, XATTR_DEFAULT);
  }
  close(fd);
}


static int path_append(walk_t* w, size_t at, const char* name,
                       size_t* out_len) {
  size_t need = at + 1 + strlen(name) + 1;
  char* p;

  if (need > w->path_cap) {
    p = capsid__realloc(w->path, need * 2);
    if (p == NULL)
      return CAPSID_ENOMEM;
    w->path = p;
    w->path_cap = need * 2;
  }
  w->path[at] = '/';
  strcpy(w->path + at + 1, name);
  *out_len = need - 1;
  return 0;
}


static int read_names(frame_t* f) {
  int fd = dup(f->fd);
  DIR* d = fd >= 0 ? fdopendir(fd) : NULL;
  struct dirent* e;
  size_t cap = 0;
  char** v;

  if (d == NULL) {
    if (fd >= 0)
      close(fd);
    return CAPSID_EIO;
  }
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if (f->n == cap) {
      cap = cap ? cap * 2 : 16;
      v = capsid__realloc(f->names, cap * sizeof(*v));
      if (v == NULL)
        break;
      f->names = v;
    }
    if ((f->names[f->n] = capsid__strdup(e->d_name)) == NULL)
      break;
    f->n++;
  }
  closedir(d);
  return e == NULL ? 0 : CAPSID_ENOMEM;
}


/* Enters directory fd (ours now) as the top of the stack. */
static int push(walk_t* w, int fd, const struct stat* st, size_t path_len) {
  frame_t* f;

  if (w->n == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 64;
    frame_t* v = capsid__realloc(w->v, cap * sizeof(*v));
    if (v == NULL) {
      close(fd);
      return CAPSID_ENOMEM;
    }
    w->v = v;
    w->cap = cap;
  }
  /* Make room: the shallowest open directory closes, to be opened again
   * through ".." on the way back. */
  if (w->n_open == MAX_OPEN) {
    close(w->v[w->low_open].fd);
    w->v[w->low_open].fd = -1;
    w->low_open++;
    w->n_open--;
  }
  f = &w->v[w->n++];
  memset(f, 0, sizeof(*f));
  f->fd = fd;
  f->dev = st->st_dev;
  f->ino = st->st_ino;
  f->path_len = path_len;
  w->n_open++;
  if (w->n_open == 1)
    w->low_open = w->n - 1;
  return read_names(f);
}


/* Leaves the top directory; its parent is opened again if it had to
 * close. Returns nonzero when the parent is not the directory it was. */
static int pop(walk_t* w) {
  frame_t* f = &w->v[w->n - 1];
  frame_t* parent = w->n > 1 ? &w->v[w->n - 2] : NULL;
  struct stat st;
  size_t i;
  int rc = 0;

  if (parent != NULL && parent->fd < 0) {
    parent->fd = openat(f->fd, "..",
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (parent->fd < 0 || fstat(parent->fd, &st) != 0 ||
        st.st_dev != parent->dev || st.st_ino != parent->ino)
      rc = CAPSID_EVERIFY;
    w->n_open++;
    w->low_open = w->n - 2;
  }
  for (i = 0; i < f->n; i++)
    capsid__free(f->names[i]);
  capsid__free(f->names);
  close(f->fd);
  w->n_open--;
  w->n--;
  return rc;
}


static void walk(walk_t* w) {
  frame_t* f;
  struct stat st;
  const char* name;
  size_t len;
  int fd;

  while (w->n > 0) {
    f = &w->v[w->n - 1];
    if (f->next == f->n) {
      if (pop(w) != 0) {
        w->out->stopped = 1;
        note(w, NULL, &w->out->errors);
        break;
      }
      continue;
    }
    name = f->names[f->next++];
    if (fstatat(f->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        st.st_dev != w->dev)
      continue; /* gone, or another filesystem: not entered */
    one(w, f->fd, name, &st);
    if (!S_ISDIR(st.st_mode))
      continue;
    fd = openat(f->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      continue;
    if (fstat(fd, &st) != 0 || st.st_dev != w->dev ||
        path_append(w, f->path_len, name, &len) != 0) {
      close(fd);
      note(w, name, &w->out->errors);
    } else if (push(w, fd, &st, len) != 0) {
      note(w, NULL, &w->out->errors); /* push owns fd */
    }
  }
  while (w->n > 0)
    pop(w);
}


/* Verifying: the root's own ACL and its ancestors' (capsid's traverse
 * entries) name no id of the range. */
static void check_ancestors(walk_t* w, const char* root) {
  char* p = capsid__strdup(root);
  char* slash;

  if (p == NULL)
    return;
  for (;;) {
    if (acl_names_range(w->hb, p[0] ? p : "/", XATTR_ACCESS, 0) > 0 ||
        acl_names_range(w->hb, p[0] ? p : "/", XATTR_DEFAULT, 0) > 0) {
      w->out->left++;
      if (w->out->first_left[0] == '\0')
        snprintf(w->out->first_left, sizeof(w->out->first_left), "%s",
                 p[0] ? p : "/");
    }
    slash = strrchr(p, '/');
    if (slash == NULL || p[0] == '\0')
      break;
    *slash = '\0';
  }
  capsid__free(p);
}


void capsid__handback(const char* root, const capsid__handback_t* hb,
                      capsid__handback_stats_t* out) {
  struct stat st;
  walk_t w;
  int fd;

  memset(&w, 0, sizeof(w));
  w.hb = hb;
  w.out = out;
  fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return; /* the workspace is gone: nothing of it is left */
  if (fstat(fd, &st) != 0) {
    close(fd);
    return;
  }
  w.owner = st.st_uid;
  w.group = st.st_gid;
  w.dev = st.st_dev;
  if (hb->verify) {
    check_ancestors(&w, root);
    if (in_range(hb, st.st_uid) || in_range(hb, st.st_gid)) {
      out->left++;
      snprintf(out->first_left, sizeof(out->first_left), "%s", root);
    }
  }
  w.path = capsid__strdup(root);
  w.path_cap = w.path ? strlen(root) + 1 : 0;
  if (w.path == NULL || push(&w, fd, &st, strlen(root)) != 0)
    note(&w, NULL, &out->errors);
  else
    walk(&w);
  while (w.n > 0)
    pop(&w);
  capsid__free(w.v);
  capsid__free(w.path);
}
