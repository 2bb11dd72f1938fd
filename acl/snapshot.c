/* A snapshot of a workspace's record: its recorded directories, as the
 * last apply left them, to tell cheaply whether a job changed any.
 *
 * Elevated mode re-applies a workspace's grants after every job, so files
 * whose inherited ACL a create mode masked become usable by the real owner
 * again. That incremental apply skips every directory whose identity and
 * ctime match the record (walk.c, check_recorded); when all match it
 * writes nothing. For a /bin/true job it still cost 0.3-0.5 ms on the
 * 2-vCPU VMs (lock file, record read, worker-pool hand-offs), about a
 * tenth of the whole job. A small workspace's directories are checked
 * here instead, on the caller's thread, with the same comparison through
 * the same no-symlink lookups; only when one differs does the caller need
 * the op. A directory's ctime changes with every entry created, removed
 * or renamed in it, so a job that created anything is always seen; as in
 * the op's own incremental check, a chmod of an existing file is not (it
 * changes the file's ctime only). */
#include "walk.h"

#include <stdlib.h>
#include <string.h>


static int pair_cmp(const void* a, const void* b) {
  const uint64_t* x = a;
  const uint64_t* y = b;

  if (x[0] != y[0])
    return x[0] < y[0] ? -1 : 1;
  return x[1] < y[1] ? -1 : x[1] > y[1];
}


/* What snapshot_touched needs: the bytes to compare, the directories'
 * identities sorted, whether any is poisoned. */
static int index_dirs(capsid__acl_snapshot_t* s) {
  const capsid__acl_record_t* rec = s->rec;
  size_t i, j, n = 0;

  for (i = 0; i < rec->n_targets; i++)
    n += rec->targets[i].n_dirs;
  s->ids = capsid__malloc((n + 1) * sizeof(*s->ids));
  if (s->ids == NULL)
    return CAPSID_ENOMEM;
  for (i = 0; i < rec->n_targets; i++)
    for (j = 0; j < rec->targets[i].n_dirs; j++) {
      const capsid__acl_rdir_t* d = &rec->targets[i].dirs[j];
      s->ids[s->n_ids][0] = d->dev;
      s->ids[s->n_ids][1] = d->ino;
      s->n_ids++;
      s->poisoned |= d->ctime_sec == POISON_SEC;
    }
  qsort(s->ids, s->n_ids, sizeof(*s->ids), pair_cmp);
  return 0;
}


int capsid__acl_snapshot_load(const char* state_dir, const char* key,
                              size_t max_dirs, capsid__acl_snapshot_t* out) {
  capsid__acl_record_t rec;
  size_t i, n = 0;
  char* path;
  int rc, os_error = 0;

  memset(out, 0, sizeof(*out));
  path = capsid__acl_record_path(state_dir, key, ".rec");
  if (path == NULL)
    return CAPSID_ENOMEM;
  rc = capsid__acl_fs_read_file(path, &out->bytes, &os_error);
  capsid__free(path);
  if (rc != 0) {
    capsid__buf_free(&out->bytes);
    return rc;
  }
  rc = capsid__acl_record_parse(out->bytes.data, out->bytes.len, &rec);
  if (rc != 0) {
    capsid__buf_free(&out->bytes);
    return rc;
  }
  /* Only a record the engine would trust itself: complete, every target
   * walked to the end, and small enough to check on a loop thread. */
  for (i = 0; i < rec.n_targets; i++)
    n += rec.targets[i].n_dirs;
  for (i = 0; i < rec.n_targets && rec.complete; i++)
    rec.complete = rec.targets[i].complete;
  if (!rec.complete || n > max_dirs || strcmp(rec.key, key) != 0) {
    capsid__acl_record_free(&rec);
    capsid__buf_free(&out->bytes);
    return CAPSID_ERANGE;
  }
  out->rec = capsid__malloc(sizeof(rec));
  if (out->rec == NULL) {
    capsid__acl_record_free(&rec);
    capsid__buf_free(&out->bytes);
    return CAPSID_ENOMEM;
  }
  *out->rec = rec;
  if ((rc = index_dirs(out)) != 0)
    capsid__acl_snapshot_free(out);
  return rc;
}


int capsid__acl_snapshot_touched(const capsid__acl_snapshot_t* s,
                                 const char* state_dir, const char* key,
                                 const capsid__acl_touched_t* touched) {
  capsid__buf_t now = {0};
  char* path;
  size_t i;
  int same, os_error = 0;

  if (s->rec == NULL || s->poisoned)
    return 1;
  for (i = 0; i < touched->n; i++)
    if (bsearch(touched->v[i], s->ids, s->n_ids, sizeof(*s->ids),
                pair_cmp) != NULL)
      return 1;
  /* The record another op (or process) wrote since holds directories
   * this snapshot does not know. */
  path = capsid__acl_record_path(state_dir, key, ".rec");
  same = path != NULL &&
         capsid__acl_fs_read_file(path, &now, &os_error) == 0 &&
         now.len == s->bytes.len &&
         memcmp(now.data, s->bytes.data, now.len) == 0;
  capsid__free(path);
  capsid__buf_free(&now);
  return !same;
}


static int target_unchanged(const capsid__acl_rtarget_t* t) {
  capsid__acl_dir_t root;
  capsid__acl_stat_t st;
  const capsid__acl_rdir_t* r;
  size_t i;
  int rc, os_error, same = 1;

  /* A single inode (an ancestor's traverse entry, a carve-out file) is
   * nothing a job can change: ancestors lie outside the writable roots,
   * carve-outs are read-only bind mounts in the job's namespace. What the
   * post-job apply is for is what jobs create, beneath recursive roots. */
  if (!t->t.recursive)
    return 1;
  rc = capsid__acl_fs_open_root(t->t.path, &root, &st, &os_error);
  if (t->n_dirs == 0) {
    /* Absent when last applied (a protected path no job made): still
     * absent is unchanged; anything else is for the op. */
    if (rc == 0)
      capsid__acl_fs_close(root);
    return t->t.optional && (rc == CAPSID_ENOENT || rc == CAPSID_ENOTDIR);
  }
  if (rc != 0)
    return 0;
  for (i = 0; same && i < t->n_dirs; i++) {
    r = &t->dirs[i];
    same = capsid__acl_fs_stat_rel(root, r->rel, &st, &os_error) == 0 &&
           st.type == CAPSID__ACL_FT_DIR && st.dev == r->dev &&
           st.ino == r->ino && st.ctime_sec == r->ctime_sec &&
           st.ctime_nsec == r->ctime_nsec;
  }
  capsid__acl_fs_close(root);
  return same;
}


int capsid__acl_snapshot_unchanged(const capsid__acl_snapshot_t* s) {
  size_t i;

  if (s->rec == NULL)
    return 0;
  for (i = 0; i < s->rec->n_targets; i++)
    if (!target_unchanged(&s->rec->targets[i]))
      return 0;
  return 1;
}


void capsid__acl_snapshot_free(capsid__acl_snapshot_t* s) {
  if (s->rec != NULL) {
    capsid__acl_record_free(s->rec);
    capsid__free(s->rec);
  }
  capsid__buf_free(&s->bytes);
  capsid__free(s->ids);
  memset(s, 0, sizeof(*s));
}
