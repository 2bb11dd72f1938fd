/* An ACL op on the loop thread: submits its work items to capsid's pool,
 * reports progress from a timer, and completes once every item is back.
 * Also the blocking form, uninstall's remove-all, and the record reader
 * behind `capsid acl status`. */
#include "acl-int.h"

#include <string.h>

#define PROGRESS_MS 100


static void snapshot(const capsid__acl_op_t* op, capsid__acl_stats_t* s) {
  capsid__acl_op_t* o = (capsid__acl_op_t*)op;

  memset(s, 0, sizeof(*s));
  s->phase = atomic_load(&o->phase);
  s->dirs = atomic_load(&o->dirs);
  s->files = atomic_load(&o->files);
  s->changed = atomic_load(&o->changed);
  s->unchanged_dirs = atomic_load(&o->unchanged_dirs);
  s->skipped_links = atomic_load(&o->skipped_links);
  s->skipped_xdev = atomic_load(&o->skipped_xdev);
  s->skipped_special = atomic_load(&o->skipped_special);
  s->errors = atomic_load(&o->errors);
  s->drifted = (int)atomic_load(&o->drifted);
  s->full = o->full;
  s->elapsed_ms = (double)(capsid__hrtime() - op->start_ns) / 1e6;
}


void capsid__acl_op_stats(const capsid__acl_op_t* op,
                          capsid__acl_stats_t* out) {
  snapshot(op, out);
}


void capsid__acl_op_cancel(capsid__acl_op_t* op) {
  /* Only a flag: the items finish on their own, so the leader always gets
   * to write what was done and drop the lock. */
  if (op != NULL)
    atomic_store(&op->canceled, 1);
}


static void op_free(capsid__acl_op_t* op) {
  capsid__acl_walk_free(op->walk);
  capsid__acl_plan_free(&op->plan);
  capsid__error_free(&op->err);
  capsid__free(op->state_dir);
  capsid__free(op->items);
  capsid__free(op);
}


static void timer_closed(uv_handle_t* h) {
  op_free(h->data);
}


static void timer_cb(uv_timer_t* t) {
  capsid__acl_op_t* op = t->data;
  capsid__acl_stats_t s;

  snapshot(op, &s);
  op->opts.progress(&s, op->opts.data);
}


static void item_done(capsid__work_t* w, int status) {
  capsid__acl_op_t* op = w->data;
  capsid__acl_stats_t s;

  (void)status; /* a dropped item did no work; the leader's status counts */
  if (++op->n_done < op->n_items)
    return;
  if (atomic_load(&op->phase) != CAPSID__ACL_PHASE_DONE) {
    /* No item ever led: the pool dropped them all (it is closing). */
    op->status = CAPSID_ECANCELED;
    capsid__error_set(&op->err, CAPSID_ECANCELED, CAPSID_STAGE_ACL, 0,
                      op->plan.key, NULL, "the worker pool closed");
  }
  snapshot(op, &s);
  s.phase = CAPSID__ACL_PHASE_DONE;
  if (op->timer_live) {
    uv_timer_stop(&op->timer);
    op->opts.progress(&s, op->opts.data);
  }
  op->cb(op, op->status, &s, &op->err, op->data);
  if (op->timer_live)
    uv_close((uv_handle_t*)&op->timer, timer_closed);
  else
    op_free(op);
}


int capsid__acl_op_start(uv_loop_t* loop, capsid__pool_t* pool,
                         capsid__acl_action_t action,
                         const capsid__acl_plan_t* plan,
                         const capsid__acl_opts_t* opts,
                         capsid__acl_done_cb cb, void* data,
                         capsid__acl_op_t** out) {
  capsid__acl_op_t* op;
  unsigned i, n;

  if (out != NULL)
    *out = NULL;
  if (loop == NULL || pool == NULL || plan == NULL || plan->key == NULL ||
      opts == NULL || opts->state_dir == NULL || cb == NULL ||
      action < CAPSID__ACL_APPLY || action > CAPSID__ACL_STATUS)
    return CAPSID_EINVAL;
  op = capsid__calloc(1, sizeof(*op));
  if (op == NULL)
    return CAPSID_ENOMEM;
  op->loop = loop;
  op->pool = pool;
  op->action = action;
  op->opts = *opts;
  op->cb = cb;
  op->data = data;
  op->start_ns = capsid__hrtime();
  op->state_dir = capsid__strdup(opts->state_dir);
  op->walk = capsid__acl_walk_new();
  n = capsid__pool_threads(pool);
  if (opts->threads != 0 && opts->threads < n)
    n = opts->threads;
  op->n_items = n ? n : 1;
  op->items = capsid__calloc(op->n_items, sizeof(*op->items));
  if (op->state_dir == NULL || op->walk == NULL || op->items == NULL ||
      capsid__acl_plan_copy(plan, &op->plan) != 0) {
    op_free(op);
    return CAPSID_ENOMEM;
  }
  if (opts->progress != NULL) {
    uv_timer_init(loop, &op->timer);
    op->timer.data = op;
    uv_timer_start(&op->timer, timer_cb, PROGRESS_MS, PROGRESS_MS);
    op->timer_live = 1;
  }
  for (i = 0; i < op->n_items; i++) {
    op->items[i].work_cb = capsid__acl_walk_work;
    op->items[i].done_cb = item_done;
    op->items[i].data = op;
    capsid__pool_submit(pool, &op->items[i]);
  }
  if (out != NULL)
    *out = op;
  return 0;
}


/* ---- blocking ---- */

typedef struct run_s {
  int done;
  int status;
  capsid__acl_stats_t stats;
  capsid_error_t* err;
} run_t;


static void run_done(capsid__acl_op_t* op, int status,
                     const capsid__acl_stats_t* stats,
                     const capsid_error_t* err, void* data) {
  run_t* r = data;

  (void)op;
  r->done = 1;
  r->status = status;
  r->stats = *stats;
  if (r->err != NULL && err != NULL && err->code != 0)
    capsid__error_set(r->err, err->code, err->stage, err->os_error,
                      err->path, err->field, "%s",
                      err->message ? err->message : "");
}


int capsid__acl_run(capsid__acl_action_t action,
                    const capsid__acl_plan_t* plan,
                    const capsid__acl_opts_t* opts,
                    capsid__acl_stats_t* stats, capsid_error_t* err) {
  capsid__pool_t* pool = NULL;
  uv_loop_t loop;
  run_t r;
  int rc;

  memset(&r, 0, sizeof(r));
  r.err = err;
  if (stats != NULL)
    memset(stats, 0, sizeof(*stats));
  if (uv_loop_init(&loop) != 0)
    return capsid__error_set(err, CAPSID_ENOMEM, CAPSID_STAGE_ACL, 0, NULL,
                             NULL, "cannot create an event loop");
  rc = capsid__pool_new(&loop, opts != NULL ? opts->threads : 0, &pool);
  if (rc == 0)
    rc = capsid__acl_op_start(&loop, pool, action, plan, opts, run_done, &r,
                              NULL);
  capsid__pool_run_private(&loop, pool, rc == 0);
  if (rc != 0)
    return capsid__error_set(err, rc, CAPSID_STAGE_ACL, 0, NULL, NULL,
                             "cannot start the ACL walk: %s",
                             capsid_strerror(rc));
  if (stats != NULL)
    *stats = r.stats;
  return r.status;
}


/* ---- records ---- */

int capsid__acl_record_load(const char* path, capsid__acl_record_t* rec,
                            capsid_error_t* err, int* missing) {
  capsid__buf_t buf = {0};
  int rc, os_error = 0;

  memset(rec, 0, sizeof(*rec));
  *missing = 0;
  rc = capsid__acl_fs_read_file(path, &buf, &os_error);
  if (rc == CAPSID_ENOENT) {
    *missing = 1;
    return 0;
  }
  if (rc != 0) {
    capsid__buf_free(&buf);
    return capsid__error_set(err, rc, CAPSID_STAGE_ACL, os_error, path, NULL,
                             "cannot read the ACL record");
  }
  rc = capsid__acl_record_parse(buf.data, buf.len, rec);
  capsid__buf_free(&buf);
  if (rc != 0)
    return capsid__error_set(err, rc, CAPSID_STAGE_ACL, 0, path, NULL,
                             "the ACL record is corrupt");
  return 0;
}


int capsid__acl_info(const char* state_dir, const char* key,
                     capsid__acl_info_t* out, capsid_error_t* err) {
  capsid__acl_record_t rec;
  capsid__acl_plan_t view;
  char* path;
  size_t i;
  int rc, missing;

  memset(out, 0, sizeof(*out));
  path = capsid__acl_record_path(state_dir, key, ".rec");
  if (path == NULL)
    return CAPSID_ENOMEM;
  rc = capsid__acl_record_load(path, &rec, err, &missing);
  capsid__free(path);
  if (rc != 0 || missing)
    return rc;
  out->present = 1;
  out->complete = rec.complete;
  memset(&view, 0, sizeof(view));
  view.key = rec.key;
  view.n_targets = rec.n_targets;
  view.targets = capsid__calloc(rec.n_targets + 1, sizeof(*view.targets));
  if (view.targets == NULL) {
    capsid__acl_record_free(&rec);
    return CAPSID_ENOMEM;
  }
  for (i = 0; i < rec.n_targets; i++) {
    view.targets[i] = rec.targets[i].t;
    out->n_dirs += rec.targets[i].n_dirs;
  }
  rc = capsid__acl_plan_copy(&view, &out->plan);
  capsid__free(view.targets);
  capsid__acl_record_free(&rec);
  return rc;
}


void capsid__acl_info_free(capsid__acl_info_t* info) {
  if (info != NULL)
    capsid__acl_plan_free(&info->plan);
}


int capsid__acl_plan_keep_recorded(capsid__acl_plan_t* plan,
                                   const char* state_dir) {
  capsid__acl_info_t info;
  size_t i, j;
  int rc = 0;

  memset(&info, 0, sizeof(info));
  if (capsid__acl_info(state_dir, plan->key, &info, NULL) != 0)
    return 0; /* a corrupt record: the engine walks everything anyway */
  for (i = 0; rc == 0 && i < info.plan.n_targets; i++) {
    const capsid__acl_target_t* t = &info.plan.targets[i];

    for (j = 0; j < plan->n_targets; j++)
      if (plan->targets[j].kind == t->kind &&
          strcmp(plan->targets[j].path, t->path) == 0)
        break;
    /* Optional: a recorded root may be gone since. */
    if (j == plan->n_targets)
      rc = capsid__acl_plan_add(plan, t->kind, t->path, t->recursive, 1,
                                t->entries, t->n_entries);
  }
  capsid__acl_info_free(&info);
  return rc;
}


static void add_stats(capsid__acl_stats_t* a, const capsid__acl_stats_t* b) {
  a->dirs += b->dirs;
  a->files += b->files;
  a->changed += b->changed;
  a->unchanged_dirs += b->unchanged_dirs;
  a->skipped_links += b->skipped_links;
  a->skipped_xdev += b->skipped_xdev;
  a->skipped_special += b->skipped_special;
  a->errors += b->errors;
  a->elapsed_ms += b->elapsed_ms;
}


int capsid__acl_remove_all(const char* state_dir, unsigned threads,
                           capsid__acl_stats_t* stats, capsid_error_t* err) {
  capsid__acl_stats_t one;
  capsid__acl_record_t rec;
  capsid__acl_plan_t plan;
  capsid__acl_opts_t opts;
  capsid__strv_t names = {0};
  capsid_error_t e1 = {0};
  char *dir, *path;
  size_t i;
  int rc, first = 0, missing, os_error = 0;

  if (stats != NULL)
    memset(stats, 0, sizeof(*stats));
  dir = capsid__sprintf("%s/acl", state_dir);
  if (dir == NULL)
    return CAPSID_ENOMEM;
  rc = capsid__acl_fs_list_names(dir, ".rec", &names, &os_error);
  if (rc != 0) {
    rc = capsid__error_set(err, rc, CAPSID_STAGE_ACL, os_error, dir, NULL,
                           "cannot list the ACL records");
    capsid__free(dir);
    return rc;
  }
  memset(&opts, 0, sizeof(opts));
  opts.state_dir = state_dir;
  opts.threads = threads;
  for (i = 0; i < names.n; i++) {
    path = capsid__sprintf("%s/%s", dir, names.v[i]);
    if (path == NULL) {
      first = first ? first : CAPSID_ENOMEM;
      continue;
    }
    rc = capsid__acl_record_load(path, &rec, &e1, &missing);
    capsid__free(path);
    if (rc == 0 && !missing) {
      /* Revoke reads the record itself; the plan only names it. */
      memset(&plan, 0, sizeof(plan));
      plan.key = rec.key;
      rc = capsid__acl_run(CAPSID__ACL_REVOKE, &plan, &opts, &one, &e1);
      if (stats != NULL)
        add_stats(stats, &one);
    }
    capsid__acl_record_free(&rec);
    if (rc != 0 && first == 0) {
      first = rc;
      capsid__error_move(err, &e1);
    }
    capsid__error_free(&e1);
  }
  capsid__strv_free(&names);
  /* Uninstall leaves nothing behind: once every record is gone, the lock
   * files and the directory go too. */
  if (first == 0) {
    memset(&names, 0, sizeof(names));
    if (capsid__acl_fs_list_names(dir, ".lock", &names, &os_error) == 0)
      for (i = 0; i < names.n; i++) {
        path = capsid__sprintf("%s/%s", dir, names.v[i]);
        if (path != NULL)
          capsid__acl_fs_unlink(path, &os_error);
        capsid__free(path);
      }
    capsid__strv_free(&names);
    capsid__acl_fs_rmdir(dir);
  }
  capsid__free(dir);
  return first;
}
