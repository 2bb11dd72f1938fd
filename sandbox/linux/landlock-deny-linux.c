/* deny_read in landlock-only mode, by Landlock alone.
 *
 * Landlock rights only ever add up along a path: a read rule on "/"
 * reaches /home/u/.ssh whatever else the ruleset says. So instead of one
 * read rule on "/", every directory on the way from "/" to a denied path
 * (an "ancestor") gets no read rule of its own, and each of its entries
 * that is neither an ancestor nor denied gets one. The denied path is
 * then covered by no rule and cannot be read; everything beside it can.
 *
 * What this gives, beyond the other modes' mounts (docs/security.md):
 *   - listing stays allowed everywhere ("/" keeps a READ_DIR rule), so a
 *     denied directory's names can be listed, not its files read;
 *   - an entry made in an ancestor after the rules were built (a new
 *     file in the workspace root when ./.env is denied) is covered by no
 *     read rule either: the job cannot read it;
 *   - a writable root that holds a denied path keeps, for itself, only
 *     listing and making entries (its entries get every right): nothing
 *     directly in it can be removed or renamed, and what the job makes
 *     there it cannot write or read (a link to a readable file excepted);
 *   - an entry of an ancestor that is a hard link to a denied file gets
 *     no rule (a rule holds the inode, and so every name of it).
 *
 * The rules are built in the parent at each start, so they follow the
 * entries as they are then; their number is bounded. */
#include "landlock-linux.h"

#include "denyread.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct deny_s {
  int ruleset;
  uint64_t handled;
  const capsid__sandbox_t* sb;
  capsid__strv_t ancestors;
  /* The denied files (not directories), by inode. */
  dev_t dev[CAPSID__DENY_READ_MAX];
  ino_t ino[CAPSID__DENY_READ_MAX];
  size_t files;
  size_t rules;
} deny_t;


static int push_ancestor(deny_t* d, const char* p, size_t len) {
  char* prefix = capsid__strndup(p, len);

  if (prefix == NULL)
    return CAPSID_ENOMEM;
  if (capsid__path_within_any(&d->sb->deny_read, prefix) ||
      capsid__strv_contains(&d->ancestors, prefix)) {
    capsid__free(prefix);
    return 0;
  }
  return capsid__strv_push_owned(&d->ancestors, prefix);
}


/* Every proper ancestor of each denied path that is not itself denied
 * (the list may name /a and /a/b: /a is what counts), and the inodes of
 * the denied files. */
static int collect(deny_t* d) {
  const capsid__strv_t* deny = &d->sb->deny_read;
  struct stat st;
  size_t i, k;
  int rc = 0;

  for (i = 0; rc == 0 && i < deny->n; i++) {
    const char* p = deny->v[i];

    if (stat(p, &st) == 0 && !S_ISDIR(st.st_mode) &&
        d->files < CAPSID__DENY_READ_MAX) {
      d->dev[d->files] = st.st_dev;
      d->ino[d->files++] = st.st_ino;
    }
    rc = push_ancestor(d, "/", 1);
    for (k = 1; rc == 0 && p[k] != '\0'; k++)
      if (p[k] == '/')
        rc = push_ancestor(d, p, k);
  }
  return rc;
}


static int is_denied_file(const deny_t* d, const struct stat* st) {
  size_t i;

  for (i = 0; i < d->files; i++)
    if (d->dev[i] == st->st_dev && d->ino[i] == st->st_ino)
      return 1;
  return 0;
}


static int too_many(const deny_t* d, const char* dir, capsid_error_t* err) {
  const char* denied = d->sb->deny_read.v[0];
  size_t i;

  for (i = 0; i < d->sb->deny_read.n; i++)
    if (capsid__path_is_within(d->sb->deny_read.v[i], dir)) {
      denied = d->sb->deny_read.v[i];
      break;
    }
  return capsid__error_set(
      err, CAPSID_ENOTSUP, CAPSID_STAGE_LANDLOCK, 0, dir, "policy.deny_read",
      "policy.deny_read: hiding \"%s\" in landlock-only mode takes more than "
      "%d Landlock rules (one per entry of each directory on its path, and "
      "\"%s\" holds too many); name fewer paths or deny a directory higher "
      "up; the job was not run",
      denied, CAPSID__LL_DENY_RULES_MAX, dir);
}


/* One entry of an ancestor: read (and, inside a writable root, every
 * right) unless it leads to a denied path. Symbolic links get no rule:
 * what they point to is covered, or not, by its own path. */
static int add_entry(deny_t* d, int dirfd, const char* dir, const char* name,
                     capsid_error_t* err) {
  struct stat st;
  uint64_t rights = CAPSID__LL_FS_READ;
  char* path;
  int fd, rc = 0;

  path = strcmp(dir, "/") == 0 ? capsid__sprintf("/%s", name)
                               : capsid__sprintf("%s/%s", dir, name);
  if (path == NULL)
    return CAPSID_ENOMEM;
  if (capsid__strv_contains(&d->ancestors, path) ||
      capsid__path_within_any(&d->sb->deny_read, path))
    goto done;
  fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    goto done; /* gone since the listing: nothing to grant */
  if (fstat(fd, &st) != 0 || S_ISLNK(st.st_mode) ||
      (!S_ISDIR(st.st_mode) && is_denied_file(d, &st))) {
    close(fd);
    goto done;
  }
  if (d->rules++ >= CAPSID__LL_DENY_RULES_MAX) {
    close(fd);
    rc = too_many(d, dir, err);
    goto done;
  }
  if (capsid__path_within_any(&d->sb->writable, path))
    rights |= d->handled;
  rc = capsid__landlock_add_fd(d->ruleset, fd, S_ISDIR(st.st_mode), rights,
                               d->handled);
  close(fd);
  if (rc != 0)
    rc = capsid__error_set(err, CAPSID_ECONFINE, CAPSID_STAGE_LANDLOCK, rc,
                           path, NULL, "cannot add a Landlock rule");
done:
  capsid__free(path);
  return rc;
}


/* The entries of one ancestor, opened without following a link a job
 * could have put in its place since the policy was resolved. One this
 * process may not list gets no rule for any entry: the job, which runs
 * as the same user, could read little there anyway. */
static int add_ancestor(deny_t* d, const char* dir, capsid_error_t* err) {
  struct dirent* e;
  DIR* dp;
  int fd, list_fd, rc;

  fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == EACCES)
    return 0;
  if (fd < 0 || (rc = capsid__landlock_still_at(fd, dir)) != 0) {
    rc = fd < 0 ? errno : rc;
    if (fd >= 0)
      close(fd);
    return capsid__error_set(err, CAPSID_ECONFINE, CAPSID_STAGE_LANDLOCK, rc,
                             dir, "policy.deny_read",
                             "cannot list a directory on the way to a "
                             "denied path");
  }
  list_fd = dup(fd);
  dp = list_fd >= 0 ? fdopendir(list_fd) : NULL;
  if (dp == NULL) {
    rc = errno;
    if (list_fd >= 0)
      close(list_fd);
    close(fd);
    return capsid__error_set(err, CAPSID_ECONFINE, CAPSID_STAGE_LANDLOCK, rc,
                             dir, "policy.deny_read",
                             "cannot list a directory on the way to a "
                             "denied path");
  }
  rc = 0;
  while (rc == 0 && (e = readdir(dp)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
        e->d_type == DT_LNK)
      continue;
    rc = add_entry(d, fd, dir, e->d_name, err);
  }
  closedir(dp);
  close(fd);
  return rc;
}


/* A writable root keeps its rule unless it holds a denied path. Then it
 * keeps only listing and making entries: every right that reaches a
 * file beneath it (reading, writing, truncating) or takes one away
 * (removing, renaming) would reach the denied path too. Its entries
 * have every right back, above. */
#define MAKE_ANY                                                             \
  (LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_MAKE_CHAR |              \
   LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |               \
   LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |             \
   LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM)

static int add_roots(deny_t* d, capsid_error_t* err) {
  uint64_t rights;
  size_t i;
  int rc;

  for (i = 0; i < d->sb->writable.n; i++) {
    rights = d->handled;
    if (capsid__strv_contains(&d->ancestors, d->sb->writable.v[i]))
      rights &= MAKE_ANY;
    rc = capsid__landlock_add_path(d->ruleset, d->sb->writable.v[i], rights,
                                   d->handled);
    if (rc != 0)
      return capsid__error_set(err, CAPSID_ECONFINE, CAPSID_STAGE_LANDLOCK,
                               rc, d->sb->writable.v[i], NULL,
                               "cannot add a Landlock rule");
  }
  return 0;
}


int capsid__landlock_deny_rules(int ruleset, const capsid__sandbox_t* sb,
                                uint64_t handled, capsid_error_t* err) {
  deny_t d;
  size_t i;
  int rc;

  memset(&d, 0, sizeof(d));
  d.ruleset = ruleset;
  d.handled = handled;
  d.sb = sb;
  rc = collect(&d);
  for (i = 0; rc == 0 && i < d.ancestors.n; i++)
    rc = add_ancestor(&d, d.ancestors.v[i], err);
  if (rc == 0)
    rc = add_roots(&d, err);
  capsid__strv_free(&d.ancestors);
  if (rc == CAPSID_ENOMEM && err->code == 0)
    capsid__error_set(err, rc, CAPSID_STAGE_LANDLOCK, 0, NULL, NULL, NULL);
  return rc;
}
