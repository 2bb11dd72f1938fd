/* POSIX ACLs as the kernel stores them: the system.posix_acl_access and
 * system.posix_acl_default xattrs, little-endian {version 2, then (tag,
 * perm, id) entries sorted by tag and id}. capsid writes these blobs
 * itself instead of going through libacl, so that the common case -- an
 * inode without an ACL -- costs one lookup and one write of a blob that was
 * built before the walker threads started.
 *
 * Safety: a child is looked up with AT_SYMLINK_NOFOLLOW, and only a
 * regular file with one link on the root's filesystem is written, by name
 * relative to its directory's fd. Between that lookup and the write a
 * concurrent job could only swap in what it can already write itself
 * (fs.protected_hardlinks stops a hard link to a file it cannot write, and
 * it cannot make device nodes); a symlink swapped in is never followed.
 * Directories are opened O_NOFOLLOW and written through their fd. */
#include "acl-int.h"
#include "fault.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#define XATTR_ACCESS "system.posix_acl_access"
#define XATTR_DEFAULT "system.posix_acl_default"

enum {
  TAG_USER_OBJ = 0x01,
  TAG_USER = 0x02,
  TAG_GROUP_OBJ = 0x04,
  TAG_GROUP = 0x08,
  TAG_MASK = 0x10,
  TAG_OTHER = 0x20
};

#define UNDEFINED_ID 0xffffffffu
#define MAX_ENTRIES 256
#define BLOB_MAX (4 + 8 * MAX_ENTRIES)
#define PLAN_MAX 16

#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#endif
#ifndef SYS_getxattrat
#define SYS_getxattrat 464
#endif

typedef struct {
  uint16_t tag;
  uint16_t perm;
  uint32_t id;
} pent_t;

typedef struct {
  pent_t v[MAX_ENTRIES];
  int n;
} pacl_t;

/* What to set or remove; perms may carry CAPSID__ACL_XCOND. */
typedef struct {
  uint16_t tag;
  uint32_t id;
  unsigned perms;
} want_t;

struct capsid__acl_fsplan_s {
  want_t set_acc[PLAN_MAX], set_def[PLAN_MAX];
  want_t rm_acc[PLAN_MAX], rm_def[PLAN_MAX];
  int n_set_acc, n_set_def, n_rm_acc, n_rm_def;
  int only_if_needed;
  int reclaim; /* capsid__acl_reclaim_t */
  uint32_t reclaim_uid, to_uid, to_gid;
  /* Access blobs for an inode without an ACL, by [is_dir][mode & 0777]. */
  unsigned char blobs[2][512][4 + 8 * (4 + PLAN_MAX)];
  uint16_t blob_len[2][512];
};

/* The kernel grew *xattrat in 6.13; older ones answer ENOSYS once and we
 * fall back to a path through /proc/self/fd. */
static atomic_int have_xattrat = 1;

struct xattr_args_k {
  uint64_t value;
  uint32_t size;
  uint32_t flags;
};


static void put16(unsigned char* p, unsigned v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
}


static void put32(unsigned char* p, uint32_t v) {
  put16(p, v & 0xffff);
  put16(p + 2, v >> 16);
}


static unsigned get16(const unsigned char* p) {
  return (unsigned)p[0] | (unsigned)p[1] << 8;
}


static uint32_t get32(const unsigned char* p) {
  return get16(p) | (uint32_t)get16(p + 2) << 16;
}


static int parse(const unsigned char* b, size_t len, pacl_t* a) {
  size_t i;

  if (len < 4 || (len - 4) % 8 != 0 || get32(b) != 2 ||
      (len - 4) / 8 > MAX_ENTRIES)
    return -1;
  a->n = (int)((len - 4) / 8);
  for (i = 0; i < (size_t)a->n; i++) {
    a->v[i].tag = (uint16_t)get16(b + 4 + 8 * i);
    a->v[i].perm = (uint16_t)get16(b + 6 + 8 * i);
    a->v[i].id = get32(b + 8 + 8 * i);
  }
  return 0;
}


static int pent_cmp(const pent_t* x, const pent_t* y) {
  if (x->tag != y->tag)
    return x->tag < y->tag ? -1 : 1;
  if (x->id != y->id)
    return x->id < y->id ? -1 : 1;
  return 0;
}


/* Insertion sort: a handful of entries, usually already in order. */
static void sort(pacl_t* a) {
  int i, j;
  pent_t t;

  for (i = 1; i < a->n; i++) {
    t = a->v[i];
    for (j = i; j > 0 && pent_cmp(&a->v[j - 1], &t) > 0; j--)
      a->v[j] = a->v[j - 1];
    a->v[j] = t;
  }
}


static size_t serialize(const pacl_t* a, unsigned char* b) {
  int i;

  put32(b, 2);
  for (i = 0; i < a->n; i++) {
    put16(b + 4 + 8 * i, a->v[i].tag);
    put16(b + 6 + 8 * i, a->v[i].perm);
    put32(b + 8 + 8 * i, a->v[i].id);
  }
  return 4 + 8 * (size_t)a->n;
}


static int find(const pacl_t* a, uint16_t tag, uint32_t id) {
  int i;

  for (i = 0; i < a->n; i++)
    if (a->v[i].tag == tag && a->v[i].id == id)
      return i;
  return -1;
}


static void drop(pacl_t* a, int i) {
  memmove(&a->v[i], &a->v[i + 1], (size_t)(a->n - i - 1) * sizeof(pent_t));
  a->n--;
}


static void from_mode(pacl_t* a, unsigned mode) {
  a->n = 3;
  a->v[0].tag = TAG_USER_OBJ;
  a->v[0].perm = (uint16_t)((mode >> 6) & 7);
  a->v[0].id = UNDEFINED_ID;
  a->v[1].tag = TAG_GROUP_OBJ;
  a->v[1].perm = (uint16_t)((mode >> 3) & 7);
  a->v[1].id = UNDEFINED_ID;
  a->v[2].tag = TAG_OTHER;
  a->v[2].perm = (uint16_t)(mode & 7);
  a->v[2].id = UNDEFINED_ID;
}


/* setfacl's X asks whether any execute bit is set; with an extended ACL
 * the group bits of the mode are the mask, which our own entries widen, so
 * that question flips after the first apply (a file that inherited
 * default entries then gains x on the next run). Only the owner's and
 * other's bits are real permissions: those decide. */
static unsigned resolve(unsigned perms, int is_dir, unsigned mode) {
  unsigned p = perms & 7;

  if ((perms & CAPSID__ACL_XCOND) && (is_dir || (mode & 0101)))
    p |= CAPSID__ACL_X;
  return p;
}


/* Applies set and remove lists, then recomputes the mask the way setfacl
 * does: the union of the group class. The owning group's entry is first
 * narrowed to what the old mask let it have: widening the mask for
 * capsid's named entries must not hand the owning group rights the mode
 * took away (a job's 0600 file whose inherited group entry is r-x would
 * become readable by the group). Returns the number of named entries
 * left. */
static int merge(pacl_t* a, const want_t* set, int n_set, const want_t* rm,
                 int n_rm, int is_dir, unsigned mode) {
  int i, k, named = 0, mask_at = -1, group_obj = -1;
  unsigned mask = 0;

  for (i = 0; i < n_rm; i++)
    if ((k = find(a, rm[i].tag, rm[i].id)) >= 0)
      drop(a, k);
  for (i = 0; i < n_set; i++) {
    k = find(a, set[i].tag, set[i].id);
    if (k < 0) {
      if (a->n == MAX_ENTRIES)
        return -1;
      k = a->n++;
      a->v[k].tag = set[i].tag;
      a->v[k].id = set[i].id;
    }
    a->v[k].perm = (uint16_t)resolve(set[i].perms, is_dir, mode);
  }
  for (i = 0; i < a->n; i++) {
    if (a->v[i].tag == TAG_USER || a->v[i].tag == TAG_GROUP) {
      named++;
      mask |= a->v[i].perm;
    } else if (a->v[i].tag == TAG_GROUP_OBJ) {
      group_obj = i;
    } else if (a->v[i].tag == TAG_MASK) {
      mask_at = i;
    }
  }
  if (group_obj < 0)
    return -1;
  if (mask_at >= 0)
    a->v[group_obj].perm &= a->v[mask_at].perm;
  mask |= a->v[group_obj].perm;
  if (named == 0) {
    if (mask_at >= 0) {
      /* Back to a minimal ACL: the group bits of the mode were the mask
       * and become the owning group's entry again. */
      drop(a, mask_at);
    }
  } else if (mask_at >= 0) {
    a->v[mask_at].perm = (uint16_t)mask;
  } else {
    if (a->n == MAX_ENTRIES)
      return -1;
    a->v[a->n].tag = TAG_MASK;
    a->v[a->n].id = UNDEFINED_ID;
    a->v[a->n].perm = (uint16_t)mask;
    a->n++;
  }
  sort(a);
  return named;
}


static int convert(const capsid__acl_entry_t* e, size_t n, unsigned scope,
                   want_t* out, int* n_out) {
  size_t i;

  *n_out = 0;
  for (i = 0; i < n; i++) {
    if (!(e[i].scope & scope))
      continue;
    if (e[i].who.sid != NULL || *n_out == PLAN_MAX)
      return CAPSID_EINVAL;
    out[*n_out].tag = e[i].who.kind == CAPSID__ACL_USER ? TAG_USER : TAG_GROUP;
    out[*n_out].id = e[i].who.id;
    out[*n_out].perms = e[i].perms;
    (*n_out)++;
  }
  return 0;
}


int capsid__acl_fsplan_new(const capsid__acl_entry_t* set, size_t n_set,
                           const capsid__acl_entry_t* remove,
                           size_t n_remove, int only_if_needed,
                           capsid__acl_fsplan_t** out) {
  capsid__acl_fsplan_t* p;
  pacl_t* a;
  unsigned mode;
  size_t i;
  int is_dir, rc;

  *out = NULL;
  /* A deny entry read as perms would grant what it takes away. */
  for (i = 0; i < n_set; i++)
    if (set[i].perms & CAPSID__ACL_DENY)
      return CAPSID_EINVAL;
  p = capsid__calloc(1, sizeof(*p));
  a = capsid__malloc(sizeof(*a));
  if (p == NULL || a == NULL) {
    capsid__free(p);
    capsid__free(a);
    return CAPSID_ENOMEM;
  }
  rc = convert(set, n_set, CAPSID__ACL_ACCESS, p->set_acc, &p->n_set_acc);
  if (rc == 0)
    rc = convert(set, n_set, CAPSID__ACL_DEFAULT, p->set_def, &p->n_set_def);
  /* A default entry taken back also goes from the access ACLs: inodes
   * created beneath inherited it there. */
  if (rc == 0)
    rc = convert(remove, n_remove, CAPSID__ACL_ACCESS | CAPSID__ACL_DEFAULT,
                 p->rm_acc, &p->n_rm_acc);
  if (rc == 0)
    rc = convert(remove, n_remove, CAPSID__ACL_DEFAULT, p->rm_def,
                 &p->n_rm_def);
  p->only_if_needed = only_if_needed;
  /* Every blob is complete before any thread can read one: a blob read
   * while half-written makes the kernel answer EOPNOTSUPP. */
  for (is_dir = 0; rc == 0 && is_dir < 2; is_dir++)
    for (mode = 0; mode < 512; mode++) {
      from_mode(a, mode);
      merge(a, p->set_acc, p->n_set_acc, NULL, 0, is_dir, mode);
      p->blob_len[is_dir][mode] =
          (uint16_t)serialize(a, p->blobs[is_dir][mode]);
    }
  capsid__free(a);
  if (rc != 0) {
    capsid__free(p);
    return rc;
  }
  *out = p;
  return 0;
}


void capsid__acl_fsplan_free(capsid__acl_fsplan_t* p) {
  capsid__free(p);
}


void capsid__acl_fsplan_reclaim(capsid__acl_fsplan_t* p, int mode,
                                uint32_t uid, uint32_t to_uid,
                                uint32_t to_gid) {
  p->reclaim = mode;
  p->reclaim_uid = uid;
  p->to_uid = to_uid;
  p->to_gid = to_gid;
}


static int os_fail(int* os_error);


/* The inode as a job left it: owned by the job identity, one link (a
 * directory may have many), on the root's mount. */
static int reclaimable(const capsid__acl_fsplan_t* p, const struct statx* st,
                       uint64_t root_mnt) {
  return st->stx_uid == p->reclaim_uid &&
         (S_ISDIR(st->stx_mode) || st->stx_nlink == 1) &&
         (!(st->stx_mask & STATX_MNT_ID) || st->stx_mnt_id == root_mnt);
}


/* The walk asks for a hand-back of each entry of a directory it lists
 * and then applies the entry's ACL (walk.c, on_entry): both start with a
 * statx of the same name, twice the calls per file of every directory a
 * post-job pass lists again (10,000 more for a job that made a file in
 * each of 100 directories of 100 files). When the hand-back leaves an
 * entry alone (not the job's: every file but the few a job made), its
 * stat is kept for the apply that follows on this thread, nothing having
 * been done in between; one it hands back is statted again, since its
 * checks and its chown lie between (a name swapped there is seen for
 * what it now is: test-acl-attack, hand_back_pass). */
static _Thread_local struct {
  int d;
  int valid;
  char name[256];
  struct statx st;
} last_stat;

static void keep_stat(int d, const char* name, const struct statx* st) {
  size_t len = strlen(name);

  /* The walk applies nothing to a link: kept, it would go stale. */
  last_stat.valid = len < sizeof(last_stat.name) && !S_ISLNK(st->stx_mode);
  if (!last_stat.valid)
    return;
  last_stat.d = d;
  memcpy(last_stat.name, name, len + 1);
  last_stat.st = *st;
}


/* statx of d/name (of d when name is NULL), no link followed: the hand-
 * back's, when it was of the same name just before, or a new one. */
static int entry_stat(int d, const char* name, unsigned want,
                      struct statx* st) {
  if (name != NULL && last_stat.valid && last_stat.d == d &&
      strcmp(last_stat.name, name) == 0 &&
      (last_stat.st.stx_mask & want) == want) {
    last_stat.valid = 0;
    *st = last_stat.st;
    return 0;
  }
  last_stat.valid = 0;
  return statx(d, name != NULL ? name : "",
               AT_SYMLINK_NOFOLLOW | (name != NULL ? 0 : AT_EMPTY_PATH), want,
               st);
}


int capsid__acl_fs_reclaim(const capsid__acl_fsplan_t* p,
                           capsid__acl_dir_t dh, const char* name,
                           uint64_t root_mnt, int* os_error) {
  const unsigned want = STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_UID |
                        STATX_INO | STATX_MNT_ID;
  struct statx st, again;
  char proc[64];
  int d = (int)dh, fd, rc = 1;

  *os_error = 0;
  last_stat.valid = 0;
  if (p->reclaim == CAPSID__ACL_RECLAIM_NONE)
    return 0;
  if (entry_stat(d, name, want, &st) != 0)
    return errno == ENOENT ? 0 : os_fail(os_error);
  /* A child directory is handed back when the walk opens it. */
  if ((name != NULL && S_ISDIR(st.stx_mode)) ||
      !reclaimable(p, &st, root_mnt)) {
    if (name != NULL)
      keep_stat(d, name, &st); /* nothing done since: as fresh as a new one */
    return 0;
  }
  if (p->reclaim == CAPSID__ACL_RECLAIM_DEFER)
    return 2;
  if (name == NULL)
    return fchown(d, p->to_uid, p->to_gid) == 0 ? 1 : os_fail(os_error);
#ifdef CAPSID_FAULT_INJECTION
  /* Lets a test swap the name between the check and the change. */
  if (capsid__acl_test_hook != NULL)
    capsid__acl_test_hook(dh, name);
#endif
  /* By name only through a handle on the inode checked: a name swapped
   * meanwhile for a hard link to someone else's file, or for a symlink,
   * is seen for what it is and left alone. O_PATH opens symlinks, FIFOs
   * and sockets without side effects. */
  fd = openat(d, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : os_fail(os_error);
  if (statx(fd, "", AT_EMPTY_PATH, want, &again) != 0) {
    rc = os_fail(os_error);
  } else if (again.stx_ino != st.stx_ino || S_ISDIR(again.stx_mode) ||
             !reclaimable(p, &again, root_mnt)) {
    rc = 0;
  } else {
    /* Set-id bits go while the job still owns the file: never a moment
     * as a set-id file of the owner. */
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    if (S_ISREG(again.stx_mode) && (again.stx_mode & (S_ISUID | S_ISGID)) &&
        chmod(proc, again.stx_mode & 01777) != 0)
      rc = os_fail(os_error);
    else if (fchownat(fd, "", p->to_uid, p->to_gid, AT_EMPTY_PATH) != 0)
      rc = os_fail(os_error);
  }
  close(fd);
  return rc;
}


/* xattr on the child name of d (no symlink followed), or on d when name is
 * NULL. */
static ssize_t xget(int d, const char* name, const char* attr, void* buf,
                    size_t size) {
  struct xattr_args_k args;
  char path[64 + 256];
  ssize_t r;

  if (name == NULL)
    return fgetxattr(d, attr, buf, size);
  if (atomic_load_explicit(&have_xattrat, memory_order_relaxed)) {
    args.value = (uint64_t)(uintptr_t)buf;
    args.size = (uint32_t)size;
    args.flags = 0;
    r = syscall(SYS_getxattrat, d, name, AT_SYMLINK_NOFOLLOW, attr, &args,
                sizeof(args));
    if (r >= 0 || errno != ENOSYS)
      return r;
    atomic_store(&have_xattrat, 0);
  }
  snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", d, name);
  return lgetxattr(path, attr, buf, size);
}


static int xset(int d, const char* name, const char* attr, const void* buf,
                size_t size) {
  struct xattr_args_k args;
  char path[64 + 256];
  int r;

  if ((r = capsid__fault("acl.setxattr")) != 0) {
    errno = r;
    return -1;
  }
  if (name == NULL)
    return fsetxattr(d, attr, buf, size, 0);
  if (atomic_load_explicit(&have_xattrat, memory_order_relaxed)) {
    args.value = (uint64_t)(uintptr_t)buf;
    args.size = (uint32_t)size;
    args.flags = 0;
    r = (int)syscall(SYS_setxattrat, d, name, AT_SYMLINK_NOFOLLOW, attr,
                     &args, sizeof(args));
    if (r == 0 || errno != ENOSYS)
      return r;
    atomic_store(&have_xattrat, 0);
  }
  snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", d, name);
  return lsetxattr(path, attr, buf, size, 0);
}


static int os_fail(int* os_error) {
  *os_error = errno;
  return capsid__translate_os_error(errno);
}


/* The default ACL of directory d. */
static int apply_default(const capsid__acl_fsplan_t* p, int d,
                         const pacl_t* access, unsigned mode, int dry_run,
                         int* os_error) {
  unsigned char old[BLOB_MAX], neu[BLOB_MAX];
  pacl_t a;
  ssize_t len;
  size_t n;
  int named, k, i;

  if (p->n_set_def == 0 && p->n_rm_def == 0)
    return CAPSID__ACL_R_UNCHANGED;
  len = fgetxattr(d, XATTR_DEFAULT, old, sizeof(old));
  if (len < 0 && errno != ENODATA)
    return os_fail(os_error);
  if (len <= 0) {
    if (p->n_set_def == 0)
      return CAPSID__ACL_R_UNCHANGED;
    /* A new default ACL starts from the directory's own base entries, as
     * setfacl does. */
    a.n = 0;
    for (i = 0; i < access->n; i++)
      if (access->v[i].tag == TAG_USER_OBJ ||
          access->v[i].tag == TAG_GROUP_OBJ || access->v[i].tag == TAG_OTHER)
        a.v[a.n++] = access->v[i];
    if (a.n != 3)
      from_mode(&a, mode);
  } else if (parse(old, (size_t)len, &a) != 0) {
    *os_error = EINVAL;
    return CAPSID_ECORRUPT;
  }
  named = merge(&a, p->set_def, p->n_set_def, p->rm_def, p->n_rm_def, 1, mode);
  if (named < 0) {
    *os_error = E2BIG;
    return CAPSID_ERANGE;
  }
  if (named == 0 && len > 0) {
    /* Nothing but base entries is left of a default ACL: capsid's
     * entries were all it carried, so it goes. */
    if (dry_run)
      return CAPSID__ACL_R_CHANGED;
    if ((k = capsid__fault("acl.setxattr")) != 0) {
      errno = k;
      return os_fail(os_error);
    }
    if (fremovexattr(d, XATTR_DEFAULT) != 0 && errno != ENODATA)
      return os_fail(os_error);
    return CAPSID__ACL_R_CHANGED;
  }
  if (named == 0)
    return CAPSID__ACL_R_UNCHANGED;
  n = serialize(&a, neu);
  if (len > 0 && (size_t)len == n && memcmp(old, neu, n) == 0)
    return CAPSID__ACL_R_UNCHANGED;
  if (dry_run)
    return CAPSID__ACL_R_CHANGED;
  if (xset(d, NULL, XATTR_DEFAULT, neu, n) != 0)
    return os_fail(os_error);
  return CAPSID__ACL_R_CHANGED;
}


static int apply_inode(const capsid__acl_fsplan_t* p, int d,
                       const char* name, int is_dir, unsigned mode,
                       int dry_run, int* os_error) {
  unsigned char old[BLOB_MAX], neu[BLOB_MAX];
  const unsigned char* blob;
  int changed = 0, rc;
  ssize_t len;
  size_t n;
  pacl_t a;

  if (p->only_if_needed && (mode & S_IXOTH) && p->n_set_acc > 0)
    return CAPSID__ACL_R_UNCHANGED; /* everyone can traverse already */

  len = xget(d, name, XATTR_ACCESS, old, sizeof(old));
  if (len < 0 && errno != ENODATA) {
    if (errno == ENOENT)
      return CAPSID__ACL_R_GONE;
    return os_fail(os_error);
  }
  if (len <= 0) {
    from_mode(&a, mode);
    if (p->n_set_acc > 0) {
      /* The common case: no ACL yet, a blob built in advance. */
      blob = p->blobs[is_dir][mode];
      n = p->blob_len[is_dir][mode];
      if (!dry_run && xset(d, name, XATTR_ACCESS, blob, n) != 0)
        return errno == ENOENT ? CAPSID__ACL_R_GONE : os_fail(os_error);
      changed = 1;
      if (is_dir)
        merge(&a, p->set_acc, p->n_set_acc, NULL, 0, 1, mode);
    }
  } else {
    if (parse(old, (size_t)len, &a) != 0) {
      *os_error = EINVAL;
      return CAPSID_ECORRUPT;
    }
    if (merge(&a, p->set_acc, p->n_set_acc, p->rm_acc, p->n_rm_acc, is_dir,
              mode) < 0) {
      *os_error = E2BIG;
      return CAPSID_ERANGE;
    }
    n = serialize(&a, neu);
    if ((size_t)len != n || memcmp(old, neu, n) != 0) {
      /* A minimal ACL written back makes the kernel drop the xattr and
       * put the owning group's bits back into the mode. */
      if (!dry_run && xset(d, name, XATTR_ACCESS, neu, n) != 0)
        return errno == ENOENT ? CAPSID__ACL_R_GONE : os_fail(os_error);
      changed = 1;
    }
  }
  if (is_dir) {
    rc = apply_default(p, d, &a, mode, dry_run, os_error);
    if (rc < 0)
      return rc;
    changed |= rc == CAPSID__ACL_R_CHANGED;
  }
  return changed ? CAPSID__ACL_R_CHANGED : CAPSID__ACL_R_UNCHANGED;
}


int capsid__acl_fs_apply(const capsid__acl_fsplan_t* p, capsid__acl_dir_t dh,
                         const char* name, uint64_t root_mnt, int dry_run,
                         int* os_error) {
  int d = (int)dh, is_dir;
  struct statx st;
  unsigned mode;

  *os_error = 0;
  /* statx rather than fstatat: the mount id tells a bind-mounted file
   * (same st_dev) from one that lives in the tree. */
  if (entry_stat(d, name,
                 STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_MNT_ID,
                 &st) != 0) {
    if (errno == ENOENT)
      return CAPSID__ACL_R_GONE;
    return os_fail(os_error);
  }
  if (S_ISDIR(st.stx_mode)) {
    if (name != NULL)
      return CAPSID__ACL_R_DIR;
  } else if (!S_ISREG(st.stx_mode)) {
    return CAPSID__ACL_R_SPECIAL;
  } else if (st.stx_nlink > 1) {
    return CAPSID__ACL_R_LINK;
  }
  if ((st.stx_mask & STATX_MNT_ID) && st.stx_mnt_id != root_mnt)
    return CAPSID__ACL_R_XDEV;
  is_dir = S_ISDIR(st.stx_mode);
  mode = st.stx_mode & 0777;
  return apply_inode(p, d, name, is_dir, mode, dry_run, os_error);
}


int capsid__acl_fs_apply_dir(const capsid__acl_fsplan_t* p,
                             capsid__acl_dir_t d,
                             const capsid__acl_stat_t* st, int dry_run,
                             int* os_error) {
  unsigned mode = st->mode & 0777;

  *os_error = 0;
  /* The stat taken when d was opened: one statx less per directory. */
  if (p->only_if_needed && (mode & S_IXOTH) && p->n_set_acc > 0)
    return CAPSID__ACL_R_UNCHANGED;
  return apply_inode(p, (int)d, NULL, 1, mode, dry_run, os_error);
}
