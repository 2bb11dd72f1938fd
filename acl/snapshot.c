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
#include "acl-int.h"

#include <string.h>


int capsid__acl_snapshot_load(const char* state_dir, const char* key,
                              size_t max_dirs, capsid__acl_snapshot_t* out) {
  capsid__acl_record_t rec;
  capsid_error_t err = {0};
  size_t i, n = 0;
  char* path;
  int rc, missing = 0;

  memset(out, 0, sizeof(*out));
  path = capsid__acl_record_path(state_dir, key, ".rec");
  if (path == NULL)
    return CAPSID_ENOMEM;
  rc = capsid__acl_record_load(path, &rec, &err, &missing);
  capsid__free(path);
  capsid__error_free(&err);
  if (rc != 0)
    return rc;
  if (missing)
    return CAPSID_ENOENT;
  /* Only a record the engine would trust itself: complete, every target
   * walked to the end, and small enough to check on a loop thread. */
  for (i = 0; i < rec.n_targets; i++)
    n += rec.targets[i].n_dirs;
  if (!rec.complete || n > max_dirs) {
    capsid__acl_record_free(&rec);
    return CAPSID_ERANGE;
  }
  for (i = 0; i < rec.n_targets; i++) {
    if (!rec.targets[i].complete) {
      capsid__acl_record_free(&rec);
      return CAPSID_ERANGE;
    }
  }
  out->rec = capsid__malloc(sizeof(rec));
  if (out->rec == NULL) {
    capsid__acl_record_free(&rec);
    return CAPSID_ENOMEM;
  }
  *out->rec = rec;
  return 0;
}


static int target_unchanged(const capsid__acl_rtarget_t* t) {
  capsid__acl_dir_t root;
  capsid__acl_stat_t st;
  const capsid__acl_rdir_t* r;
  size_t i;
  int os_error, same = 1;

  /* A single inode (an ancestor's traverse entry, a carve-out file) is
   * nothing a job can change: ancestors lie outside the writable roots,
   * carve-outs are read-only bind mounts in the job's namespace. What the
   * post-job apply is for is what jobs create, beneath recursive roots. */
  if (!t->t.recursive)
    return 1;
  if (t->n_dirs == 0)
    return 0; /* absent when last applied: the op decides */
  if (capsid__acl_fs_open_root(t->t.path, &root, &st, &os_error) != 0)
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
  s->rec = NULL;
}
