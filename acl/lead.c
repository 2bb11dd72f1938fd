/* The leader of an ACL op: takes the workspace lock, reads the record,
 * turns the plan into walk targets (what to set, what to take back, which
 * recorded directories to check), writes the record that makes a crash
 * safe, lets everyone walk, and writes the new record. */
#include "walk.h"

#include "log.h"

#include <string.h>

static int op_fail(capsid__acl_op_t* op, int code, int os_error,
                   const char* path, const char* what) {
  if (op->err.code == 0)
    capsid__error_set(&op->err, code, CAPSID_STAGE_ACL, os_error, path, NULL,
                      "%s", what);
  return code;
}


static const capsid__acl_rtarget_t* old_target(const capsid__acl_walk_t* w,
                                               const char* path) {
  size_t i;

  if (!w->have_old)
    return NULL;
  for (i = 0; i < w->old.n_targets; i++)
    if (strcmp(w->old.targets[i].t.path, path) == 0)
      return &w->old.targets[i];
  return NULL;
}


static uint64_t effective_digest(const capsid__acl_target_t* t,
                                 const capsid__acl_target_t* all, size_t n) {
  uint64_t h = capsid__acl_target_digest(t);
  size_t i;

  /* Nested targets carve pieces out of t: a change there changes what
   * t's walk covers. */
  for (i = 0; i < n; i++)
    if (&all[i] != t && all[i].recursive &&
        capsid__path_is_within(all[i].path, t->path) &&
        strcmp(all[i].path, t->path) != 0)
      h = (h ^ capsid__acl_target_digest(&all[i])) * 1099511628211ull;
  return h;
}


static int add_wtarget(capsid__acl_walk_t* w, const capsid__acl_target_t* t,
                       const capsid__acl_entry_t* set, size_t n_set,
                       const capsid__acl_entry_t* rm, size_t n_rm, int keep) {
  wtarget_t* wt = &w->targets[w->n_targets++];
  size_t i;

  memset(wt, 0, sizeof(*wt));
  wt->t = t;
  wt->keep = keep;
  wt->root = CAPSID__ACL_NO_DIR;
  wt->set = capsid__calloc(n_set + 1, sizeof(*wt->set));
  wt->rm = capsid__calloc(n_rm + 1, sizeof(*wt->rm));
  if (wt->set == NULL || wt->rm == NULL)
    return CAPSID_ENOMEM;
  if (n_set > 0)
    memcpy(wt->set, set, n_set * sizeof(*set));
  wt->n_set = n_set;
  /* Remove only what is not set again. */
  for (i = 0; i < n_rm; i++)
    if (!capsid__acl_has_entry(set, n_set, &rm[i]))
      wt->rm[wt->n_rm++] = rm[i];
  return 0;
}


/* An old target the plan no longer has: take back its entries, except
 * those a target of the plan that contains it sets again (a protected path
 * that became ordinary workspace again). */
static int add_dropped(capsid__acl_walk_t* w, const capsid__acl_plan_t* plan,
                       const capsid__acl_rtarget_t* o) {
  capsid__acl_entry_t rm[64];
  size_t i, j, n = 0;
  int covered;

  for (i = 0; i < o->t.n_entries && n < 64; i++) {
    covered = 0;
    for (j = 0; j < plan->n_targets && !covered; j++)
      covered = plan->targets[j].recursive &&
                capsid__path_is_within(o->t.path, plan->targets[j].path) &&
                capsid__acl_has_entry(plan->targets[j].entries,
                          plan->targets[j].n_entries, &o->t.entries[i]);
    if (!covered)
      rm[n++] = o->t.entries[i];
  }
  return add_wtarget(w, &o->t, NULL, 0, rm, n, 0);
}


/* The records of the other workspaces under the same state directory,
 * read only when a revoke has a non-recursive target: an ancestor's
 * traverse entry is shared by every workspace beneath it and must stay
 * until the last of them is revoked. */
typedef struct others_s {
  capsid__acl_record_t* v;
  size_t n;
  int loaded;
} others_t;


static void others_load(capsid__acl_op_t* op, others_t* o) {
  capsid__strv_t names = {0};
  capsid__buf_t buf = {0};
  char *dir, *own, *path;
  size_t i;
  int os_error = 0;

  o->loaded = 1;
  dir = capsid__sprintf("%s/acl", op->state_dir);
  own = capsid__acl_record_path(op->state_dir, op->plan.key, ".rec");
  if (dir == NULL || own == NULL ||
      capsid__acl_fs_list_names(dir, ".rec", &names, &os_error) != 0 ||
      (o->v = capsid__calloc(names.n + 1, sizeof(*o->v))) == NULL)
    goto out;
  for (i = 0; i < names.n; i++) {
    path = capsid__sprintf("%s/%s", dir, names.v[i]);
    buf.len = 0;
    if (path != NULL && strcmp(path, own) != 0 &&
        capsid__acl_fs_read_file(path, &buf, &os_error) == 0 &&
        capsid__acl_record_parse(buf.data, buf.len, &o->v[o->n]) == 0)
      o->n++;
    capsid__free(path);
  }
out:
  capsid__buf_free(&buf);
  capsid__strv_free(&names);
  capsid__free(dir);
  capsid__free(own);
}


static void others_free(others_t* o) {
  size_t i;

  for (i = 0; i < o->n; i++)
    capsid__acl_record_free(&o->v[i]);
  capsid__free(o->v);
  memset(o, 0, sizeof(*o));
}


static int add_unshared(capsid__acl_op_t* op, others_t* o,
                        const capsid__acl_target_t* t) {
  capsid__acl_entry_t rm[64];
  size_t i, j, k, n = 0;
  int shared;

  if (!o->loaded)
    others_load(op, o);
  for (i = 0; i < t->n_entries && n < 64; i++) {
    shared = 0;
    for (j = 0; j < o->n && !shared; j++)
      for (k = 0; k < o->v[j].n_targets && !shared; k++)
        shared = !o->v[j].targets[k].t.recursive &&
                 strcmp(o->v[j].targets[k].t.path, t->path) == 0 &&
                 capsid__acl_has_entry(o->v[j].targets[k].t.entries,
                                       o->v[j].targets[k].t.n_entries,
                                       &t->entries[i]);
    if (!shared)
      rm[n++] = t->entries[i];
  }
  return add_wtarget(op->walk, t, NULL, 0, rm, n, 0);
}


/* The record written before anything changes: every entry that may be in
 * the tree once we start, so that revoke after a crash still finds them,
 * and no directory state, so that the next apply walks everything. */
static int write_record(capsid__acl_op_t* op, int final);


static int prepare(capsid__acl_op_t* op) {
  capsid__acl_walk_t* w = op->walk;
  const capsid__acl_plan_t* plan = &op->plan;
  const capsid__acl_rtarget_t* o;
  capsid__acl_stat_t st;
  capsid__buf_t buf = {0};
  char* path;
  size_t i, j, n_max;
  wtarget_t* wt;
  item_t* it;
  int rc, os_error = 0, need_dirty = 0;
  others_t others = {NULL, 0, 0};
  size_t n_src;

  w->dry_run = op->action == CAPSID__ACL_STATUS;
  atomic_store(&op->phase, CAPSID__ACL_PHASE_LOCKING);
  path = capsid__sprintf("%s/acl", op->state_dir);
  if (path == NULL)
    return CAPSID_ENOMEM;
  rc = w->dry_run ? 0 : capsid__acl_fs_mkdirs(path, &os_error);
  if (rc != 0) {
    rc = op_fail(op, rc, os_error, path, "cannot create the state directory");
    capsid__free(path);
    return rc;
  }
  capsid__free(path);
  if (!w->dry_run) {
    path = capsid__acl_record_path(op->state_dir, plan->key, ".lock");
    if (path == NULL)
      return CAPSID_ENOMEM;
    rc = capsid__acl_fs_lock(path, op->opts.no_wait, &w->lock, &os_error);
    if (rc != 0) {
      rc = op_fail(op, rc, os_error, path,
                   rc == CAPSID_EBUSY
                       ? "another capsid is changing this workspace's ACLs"
                       : "cannot lock the workspace's ACL record");
      capsid__free(path);
      return rc;
    }
    capsid__free(path);
  }
  if (atomic_load(&op->canceled))
    return CAPSID_ECANCELED;

  /* The record: missing or corrupt both mean "walk everything". */
  path = capsid__acl_record_path(op->state_dir, plan->key, ".rec");
  if (path == NULL)
    return CAPSID_ENOMEM;
  rc = capsid__acl_fs_read_file(path, &buf, &os_error);
  if (rc == 0 && capsid__acl_record_parse(buf.data, buf.len, &w->old) == 0 &&
      strcmp(w->old.key, plan->key) == 0)
    w->have_old = 1;
  else if (rc == 0)
    capsid__acl_record_free(&w->old);
  capsid__buf_free(&buf);
  capsid__free(path);

  n_max = plan->n_targets + (w->have_old ? w->old.n_targets : 0);
  w->targets = capsid__calloc(n_max + 1, sizeof(*w->targets));
  if (w->targets == NULL)
    return CAPSID_ENOMEM;
  op->full = 1;
  if (op->action == CAPSID__ACL_REVOKE) {
    /* Remove what the record says was written; without a record, what
     * the plan would have written. */
    n_src = w->have_old ? w->old.n_targets : plan->n_targets;
    for (i = 0; i < n_src; i++) {
      const capsid__acl_target_t* t =
          w->have_old ? &w->old.targets[i].t : &plan->targets[i];
      rc = t->recursive
               ? add_wtarget(w, t, NULL, 0, t->entries, t->n_entries, 0)
               : add_unshared(op, &others, t);
      if (rc != 0) {
        others_free(&others);
        return rc;
      }
    }
    others_free(&others);
  } else {
    for (i = 0; i < plan->n_targets; i++) {
      const capsid__acl_target_t* t = &plan->targets[i];
      o = old_target(w, t->path);
      rc = add_wtarget(w, t, t->entries, t->n_entries, o ? o->t.entries : NULL,
                       o ? o->t.n_entries : 0, 1);
      if (rc != 0)
        return rc;
      wt = &w->targets[w->n_targets - 1];
      wt->digest = effective_digest(t, plan->targets, plan->n_targets);
      for (j = 0; j < t->n_entries; j++)
        if (o == NULL || !capsid__acl_has_entry(o->t.entries, o->t.n_entries,
                                    &t->entries[j]))
          need_dirty = 1;
      if (o != NULL && o->complete && w->old.complete && !op->opts.full &&
          o->digest == wt->digest && t->recursive) {
        wt->old = o;
        op->full = 0;
      }
    }
    w->same_plan = w->have_old && w->old.complete && !op->opts.full &&
                   w->old.n_targets == plan->n_targets;
    for (i = 0; w->same_plan && i < w->n_targets; i++) {
      o = old_target(w, w->targets[i].t->path);
      w->same_plan = o != NULL && o->complete &&
                     o->digest == w->targets[i].digest;
    }
    /* Targets no longer in the plan: take back what was granted there. */
    for (i = 0; w->have_old && i < w->old.n_targets; i++) {
      o = &w->old.targets[i];
      for (j = 0; j < plan->n_targets; j++)
        if (strcmp(plan->targets[j].path, o->t.path) == 0)
          break;
      if (j < plan->n_targets)
        continue;
      rc = add_dropped(w, plan, o);
      if (rc != 0)
        return rc;
      need_dirty = 1;
      w->same_plan = 0;
    }
  }

  /* Open the roots, build the backend's blobs, find nested targets. */
  for (i = 0; i < w->n_targets; i++) {
    wt = &w->targets[i];
    rc = capsid__acl_fsplan_new(wt->set, wt->n_set, wt->rm, wt->n_rm,
                                wt->t->kind == CAPSID__ACL_T_TRAVERSE,
                                &wt->fs);
    if (rc != 0)
      return op_fail(op, rc, 0, wt->t->path,
                     "these ACL entries cannot be expressed here");
    if (!wt->t->recursive) {
      wt->present = 1;
      continue;
    }
    rc = capsid__acl_fs_open_root(wt->t->path, &wt->root, &st, &os_error);
    /* Gone, or no longer a directory (a carve-out's placeholder that the
     * owner replaced with a file after the job): nothing of this target
     * to walk; an enclosing root's walk covers what is there now. */
    if ((rc == CAPSID_ENOENT || rc == CAPSID_ENOTDIR) &&
        (wt->t->optional || op->action == CAPSID__ACL_REVOKE)) {
      /* Nor are its recorded directories there to check (a placeholder
       * walked while a job had it): checked through no root, they failed
       * the target, and an incomplete record means a full walk of every
       * target next time. */
      wt->old = NULL;
      continue;
    }
    if (rc != 0)
      return op_fail(op, rc, os_error, wt->t->path,
                     "cannot open the directory to walk");
    wt->present = 1;
    wt->root_mnt = st.mnt;
    /* What a job made in a writable root goes to the root's owner. */
    if (op->action == CAPSID__ACL_APPLY && wt->keep &&
        wt->t->kind == CAPSID__ACL_T_WRITE && op->opts.reclaim)
      capsid__acl_fsplan_reclaim(wt->fs, op->opts.reclaim,
                                 op->opts.reclaim_uid, st.uid, st.gid);
    if (wt->old != NULL && wt->old->n_dirs == 0)
      wt->old = NULL; /* recorded while absent: walk it now */
    if (wt->old != NULL && (rc = capsid__acl_slots_build(wt)) != 0)
      return rc;
    if (wt->old != NULL && op->opts.touched != NULL &&
        op->action == CAPSID__ACL_APPLY &&
        (rc = capsid__acl_track_prepare(wt, op->opts.touched)) != 0)
      return rc;
  }
  for (i = 0; i < w->n_targets; i++) {
    wt = &w->targets[i];
    if (!wt->present || !wt->t->recursive)
      continue;
    wt->skip = capsid__calloc(w->n_targets, sizeof(*wt->skip));
    if (wt->skip == NULL)
      return CAPSID_ENOMEM;
    for (j = 0; j < w->n_targets; j++) {
      if (j == i || !w->targets[j].present || !w->targets[j].t->recursive ||
          !w->targets[j].keep != !wt->keep ||
          strcmp(w->targets[j].t->path, wt->t->path) == 0 ||
          !capsid__path_is_within(w->targets[j].t->path, wt->t->path))
        continue;
      if (capsid__acl_fs_stat_dir(w->targets[j].root, &st, &os_error) == 0) {
        wt->skip[wt->n_skip][0] = st.dev;
        wt->skip[wt->n_skip][1] = st.ino;
        wt->n_skip++;
      }
    }
  }

  if (need_dirty)
    w->same_plan = 0;
  if (!w->dry_run && (need_dirty || op->action == CAPSID__ACL_REVOKE ||
                      !w->have_old)) {
    rc = write_record(op, 0);
    if (rc != 0)
      return rc;
  }

  /* Seed the work. */
  for (i = 0; i < w->n_targets; i++) {
    wt = &w->targets[i];
    if (!wt->present || wt->old != NULL)
      continue; /* absent, or checked through the record cursor */
    it = capsid__calloc(1, sizeof(*it));
    if (it == NULL || (it->rel = capsid__strdup("")) == NULL) {
      capsid__free(it);
      return CAPSID_ENOMEM;
    }
    it->ti = (int)i;
    it->mode = wt->t->recursive ? ITEM_FULL : ITEM_SINGLE;
    it->next = w->stack;
    w->stack = it;
  }
  return 0;
}


static void entries_union(const capsid__acl_entry_t* a, size_t na,
                          const capsid__acl_entry_t* b, size_t nb,
                          capsid__acl_entry_t* out, size_t* n) {
  size_t i;

  if (na > 0)
    memcpy(out, a, na * sizeof(*a));
  *n = na;
  for (i = 0; i < nb; i++)
    if (!capsid__acl_has_entry(out, *n, &b[i]))
      out[(*n)++] = b[i];
}


static int write_record(capsid__acl_op_t* op, int final) {
  capsid__acl_walk_t* w = op->walk;
  capsid__acl_record_t rec;
  capsid__acl_rtarget_t* rt;
  capsid__acl_entry_t* ents = NULL;
  capsid__buf_t buf = {0};
  wtarget_t* wt;
  char* path;
  size_t i, n, cap = 0;
  int rc, os_error = 0, all = 1;

  memset(&rec, 0, sizeof(rec));
  rec.key = op->plan.key;
  rec.targets = capsid__calloc(w->n_targets + 1, sizeof(*rec.targets));
  for (i = 0; i < w->n_targets; i++)
    cap += w->targets[i].n_set + w->targets[i].n_rm;
  ents = capsid__calloc(cap + 1, sizeof(*ents));
  if (rec.targets == NULL || ents == NULL) {
    capsid__free(rec.targets);
    capsid__free(ents);
    return op_fail(op, CAPSID_ENOMEM, 0, NULL, "out of memory");
  }
  cap = 0;
  for (i = 0; i < w->n_targets; i++) {
    wt = &w->targets[i];
    /* A target being taken back stays listed until that succeeded. */
    if (final && !wt->keep && !wt->failed)
      continue;
    rt = &rec.targets[rec.n_targets++];
    rt->t = *wt->t;
    rt->digest = wt->digest;
    if (final && wt->keep && !wt->failed) {
      rt->t.entries = wt->set;
      rt->t.n_entries = wt->n_set;
      rt->complete = !atomic_load(&op->canceled);
      rt->dirs = wt->out.dirs;
      rt->n_dirs = wt->out.n_dirs;
    } else {
      /* Whatever may be in the tree: what was there (rm holds the old
       * entries not set again) and what we set. */
      entries_union(wt->set, wt->n_set, wt->rm, wt->n_rm, ents + cap, &n);
      rt->t.entries = ents + cap;
      rt->t.n_entries = n;
      cap += n;
      rt->complete = 0;
    }
    all &= rt->complete;
  }
  rec.complete = final && all;
  path = capsid__acl_record_path(op->state_dir, op->plan.key, ".rec");
  if (path == NULL) {
    rc = CAPSID_ENOMEM;
  } else if (final && op->action == CAPSID__ACL_REVOKE && rec.n_targets == 0) {
    rc = capsid__acl_fs_unlink(path, &os_error);
  } else {
    rc = capsid__acl_record_serialize(&rec, &buf);
    if (rc == 0)
      rc = capsid__acl_fs_write_atomic(path, buf.data, buf.len, &os_error);
  }
  if (rc != 0)
    op_fail(op, rc, os_error, path, "cannot write the ACL record");
  capsid__free(path);
  capsid__buf_free(&buf);
  capsid__free(ents);
  capsid__free(rec.targets);
  return rc;
}


/* Would the new record say exactly what the old one says? Then an
 * unchanged re-apply need not write (and fsync) it again. */
static int record_unchanged(capsid__acl_op_t* op) {
  capsid__acl_walk_t* w = op->walk;
  size_t i;

  if (!w->same_plan || op->action != CAPSID__ACL_APPLY ||
      atomic_load(&op->canceled) || atomic_load(&op->drifted) != 0 ||
      atomic_load(&op->changed) != 0 || atomic_load(&op->errors) != 0 ||
      op->err.code != 0)
    return 0;
  for (i = 0; i < w->n_targets; i++) {
    const wtarget_t* wt = &w->targets[i];
    if (wt->failed || !wt->keep)
      return 0;
    if (wt->t->recursive && wt->present &&
        (wt->old == NULL || wt->out.n_dirs != wt->old->n_dirs))
      return 0;
  }
  return 1;
}


/* Locks, reads the record, plans, walks, writes the new record, unlocks. */
static void walk_lead(capsid__acl_op_t* op) {
  capsid__acl_walk_t* w = op->walk;
  local_t l;
  int rc;
  size_t i;
  uint64_t t = capsid__hrtime();

  rc = capsid__log_stage("acl plan (lock, record, targets)", t, prepare(op));
  uv_mutex_lock(&w->mu);
  w->ready = rc == 0 ? 1 : -1;
  uv_cond_broadcast(&w->cv);
  uv_mutex_unlock(&w->mu);
  if (rc != 0) {
    op->status = rc;
    goto out;
  }
  atomic_store(&op->phase, CAPSID__ACL_PHASE_WALKING);
  t = capsid__hrtime();
  memset(&l, 0, sizeof(l));
  l.op = op;
  l.w = w;
  capsid__acl_walk_loop(&l);
  /* Wait for the other walkers to put their last directory down. */
  uv_mutex_lock(&w->mu);
  while (w->walkers > 0)
    uv_cond_wait(&w->cv, &w->mu);
  while (w->stack != NULL) { /* left over after a cancel */
    item_t* it = w->stack;
    w->stack = it->next;
    uv_mutex_unlock(&w->mu);
    capsid__acl_item_free(w, it);
    uv_mutex_lock(&w->mu);
  }
  uv_mutex_unlock(&w->mu);
  capsid__log_stage("acl walk", t, 0);

  atomic_store(&op->phase, CAPSID__ACL_PHASE_RECORDING);
  t = capsid__hrtime();
  for (i = 0; i < w->n_targets; i++) {
    uint64_t kept = 0;
    /* A tracked apply: the directories nobody touched, as recorded. */
    if (capsid__acl_track_finish(&w->targets[i], &kept) != 0)
      w->targets[i].failed = 1;
    atomic_fetch_add(&op->unchanged_dirs, kept);
  }
  for (i = 0; i < w->n_targets; i++)
    if (w->targets[i].failed)
      op->status = op->status ? op->status : CAPSID_EIO;
  if (!w->dry_run && !record_unchanged(op))
    rc = capsid__log_stage("acl record write", t, write_record(op, 1));
  if (atomic_load(&op->canceled))
    op->status = CAPSID_ECANCELED;
  else if (op->err.code != 0)
    op->status = op->err.code;
  else if (rc != 0 || op->status != 0)
    op->status = rc != 0 ? rc : op->status;
out:
  if (w->lock != CAPSID__ACL_NO_DIR) {
    capsid__acl_fs_unlock(w->lock);
    w->lock = CAPSID__ACL_NO_DIR;
  }
  atomic_store(&op->phase, CAPSID__ACL_PHASE_DONE);
}


/* The pool's work item of an op (acl-int.h): one leads, the rest walk. */
void capsid__acl_walk_work(capsid__work_t* item) {
  capsid__acl_op_t* op = item->data;
  capsid__acl_walk_t* w = op->walk;
  local_t l;

  /* The first item to run leads. Nobody waits for an item that is still
   * queued, so a pool with fewer free threads than items (or one that is
   * closing and drops queued items) cannot deadlock the op. */
  uv_mutex_lock(&w->mu);
  if (!w->led) {
    w->led = 1;
    uv_mutex_unlock(&w->mu);
    walk_lead(op);
    return;
  }
  while (w->ready == 0)
    uv_cond_wait(&w->cv, &w->mu);
  if (w->ready < 0 || w->finished) {
    uv_mutex_unlock(&w->mu);
    return;
  }
  uv_mutex_unlock(&w->mu);
  memset(&l, 0, sizeof(l));
  l.op = op;
  l.w = w;
  capsid__acl_walk_loop(&l);
}
