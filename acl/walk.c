/* The walk: every work item of an op runs capsid__acl_walk_work on a pool
 * thread. The first item to run leads (lead.c): it takes the workspace
 * lock, reads the record, prepares every target (the backend's
 * precomputed ACL blobs among them) and seeds the work; then every item
 * walks; then the leader writes the new record and drops the lock.
 *
 * Work is a shared LIFO of directories (depth first, so memory stays
 * bounded by the width of the pending frontier, not the size of the tree)
 * plus, for targets with a usable record, a cursor over the recorded
 * directories: each is checked with one lstat against its recorded
 * (dev, inode, ctime), and only directories that changed are listed
 * again. A pending directory holds a reference to its parent's open fd,
 * never a path, so a deep tree never needs a long path and never follows
 * a symlink; an fd is closed as soon as its last pending child is open.
 */
#include "walk.h"

#include <stdio.h>
#include <string.h>

#ifdef CAPSID_FAULT_INJECTION
#define TEST_HOOK(d, name)                                                   \
  do {                                                                       \
    if (capsid__acl_test_hook != NULL)                                       \
      capsid__acl_test_hook((d), (name));                                    \
  } while (0)
#else
#define TEST_HOOK(d, name) ((void)0)
#endif


/* ---- small helpers ---- */

static uint64_t hash_str(const char* s) {
  return capsid__fnv1a(CAPSID__FNV_BASIS, s, strlen(s));
}


int capsid__acl_slots_build(wtarget_t* wt) {
  size_t n = 16, i, j;

  while (n < wt->old->n_dirs * 2)
    n *= 2;
  wt->slots = capsid__calloc(n, sizeof(*wt->slots));
  if (wt->slots == NULL)
    return CAPSID_ENOMEM;
  wt->mask = n - 1;
  for (i = 0; i < wt->old->n_dirs; i++) {
    j = hash_str(wt->old->dirs[i].rel) & wt->mask;
    while (wt->slots[j].rel != NULL)
      j = (j + 1) & wt->mask;
    wt->slots[j].rel = wt->old->dirs[i].rel;
    wt->slots[j].i = i;
  }
  return 0;
}


long capsid__acl_slots_find(const wtarget_t* wt, const char* rel) {
  size_t j;

  if (wt->slots == NULL || rel == NULL)
    return -1;
  for (j = hash_str(rel) & wt->mask; wt->slots[j].rel != NULL;
       j = (j + 1) & wt->mask)
    if (strcmp(wt->slots[j].rel, rel) == 0)
      return (long)wt->slots[j].i;
  return -1;
}


static int slots_has(const wtarget_t* wt, const char* rel) {
  return capsid__acl_slots_find(wt, rel) >= 0;
}


static int same_who(const capsid__acl_principal_t* a,
                    const capsid__acl_principal_t* b) {
  if (a->kind != b->kind)
    return 0;
  if (a->sid != NULL || b->sid != NULL)
    return a->sid != NULL && b->sid != NULL && strcmp(a->sid, b->sid) == 0;
  return a->id == b->id;
}


/* Does list hold an entry for who with scope? */
int capsid__acl_has_entry(const capsid__acl_entry_t* v, size_t n,
                     const capsid__acl_entry_t* e) {
  size_t i;

  for (i = 0; i < n; i++)
    if (same_who(&v[i].who, &e->who) && (v[i].scope & e->scope) == e->scope)
      return 1;
  return 0;
}


static void report(local_t* l, const wtarget_t* wt, const char* rel,
                   const char* name, const char* why) {
  capsid__acl_opts_t* o = &l->op->opts;
  char path[4200];

  if (o->skipped == NULL)
    return;
  if (rel == NULL)
    snprintf(path, sizeof(path), ".../%s", name ? name : "");
  else if (name == NULL)
    snprintf(path, sizeof(path), "%s", rel[0] ? rel : ".");
  else
    snprintf(path, sizeof(path), "%s%s%s", rel, rel[0] ? "/" : "", name);
  o->skipped(wt->t->path, path, why, o->data);
}


/* The first failure becomes the op's error. */
static void note_error(local_t* l, const wtarget_t* wt, const char* rel,
                       const char* name, int code, int os_error,
                       const char* what) {
  capsid__acl_op_t* op = l->op;
  char path[4200];

  l->errors++;
  uv_mutex_lock(&l->w->mu);
  if (op->err.code == 0) {
    snprintf(path, sizeof(path), "%s%s%s%s%s", wt->t->path,
             rel && rel[0] ? "/" : "", rel ? rel : "/...",
             name ? "/" : "", name ? name : "");
    capsid__error_set(&op->err, code, CAPSID_STAGE_ACL, os_error, path, NULL,
                      "%s", what);
  }
  uv_mutex_unlock(&l->w->mu);
}


static void flush(local_t* l) {
  capsid__acl_op_t* op = l->op;

  atomic_fetch_add_explicit(&op->dirs, l->dirs, memory_order_relaxed);
  atomic_fetch_add_explicit(&op->files, l->files, memory_order_relaxed);
  atomic_fetch_add_explicit(&op->changed, l->changed, memory_order_relaxed);
  atomic_fetch_add_explicit(&op->unchanged_dirs, l->unchanged,
                            memory_order_relaxed);
  atomic_fetch_add_explicit(&op->skipped_links, l->links,
                            memory_order_relaxed);
  atomic_fetch_add_explicit(&op->skipped_xdev, l->xdev, memory_order_relaxed);
  atomic_fetch_add_explicit(&op->skipped_special, l->special,
                            memory_order_relaxed);
  atomic_fetch_add_explicit(&op->errors, l->errors, memory_order_relaxed);
  l->dirs = l->files = l->changed = l->unchanged = 0;
  l->links = l->xdev = l->special = l->errors = 0;
}


static void dref_put(capsid__acl_walk_t* w, dref_t* r) {
  int last;

  if (r == NULL)
    return;
  uv_mutex_lock(&w->mu);
  last = --r->refs == 0;
  uv_mutex_unlock(&w->mu);
  if (last) {
    capsid__acl_fs_close(r->fd);
    capsid__free(r);
  }
}


void capsid__acl_item_free(capsid__acl_walk_t* w, item_t* it) {
  dref_put(w, it->parent);
  capsid__free(it->name);
  capsid__free(it->rel);
  capsid__free(it);
}


static void push(capsid__acl_walk_t* w, item_t* it) {
  uv_mutex_lock(&w->mu);
  it->next = w->stack;
  w->stack = it;
  uv_cond_signal(&w->cv);
  uv_mutex_unlock(&w->mu);
}


static char* join(const char* rel, const char* name) {
  size_t a, b;
  char* s;

  if (rel == NULL)
    return NULL;
  a = strlen(rel);
  b = strlen(name);
  if (a + b + 1 > MAX_REL)
    return NULL;
  s = capsid__malloc(a + b + 2);
  if (s == NULL)
    return NULL;
  if (a == 0) {
    memcpy(s, name, b + 1);
  } else {
    memcpy(s, rel, a);
    s[a] = '/';
    memcpy(s + a + 1, name, b + 1);
  }
  return s;
}


static void record_dir(local_t* l, wtarget_t* wt, const char* rel,
                       const capsid__acl_stat_t* st, int poisoned) {
  capsid__acl_stat_t s = *st;

  if (l->w->dry_run || !wt->keep || rel == NULL)
    return;
  if (poisoned) {
    s.ctime_sec = POISON_SEC;
    s.ctime_nsec = 0;
  }
  uv_mutex_lock(&l->w->mu);
  if (capsid__acl_rdir_push(&wt->out, rel, &s) != 0)
    wt->failed = 1;
  uv_mutex_unlock(&l->w->mu);
}


/* ---- processing one directory ---- */

typedef struct dirctx_s {
  local_t* l;
  wtarget_t* wt;
  item_t* it;
  dref_t* self; /* this directory, shared with pending children */
  int bad;      /* something inside failed: poison the record */
  unsigned n;
} dirctx_t;


static int skip_nested(const wtarget_t* wt, const capsid__acl_stat_t* st) {
  size_t i;

  for (i = 0; i < wt->n_skip; i++)
    if (wt->skip[i][0] == st->dev && wt->skip[i][1] == st->ino)
      return 1;
  return 0;
}


/* What a job created goes back to the owner (d itself when name is
 * NULL); a deferred one marks the directory for the next pass. */
static void reclaim(dirctx_t* c, const char* name) {
  int os_error = 0;
  int rc = capsid__acl_fs_reclaim(c->wt->fs, c->self->fd, name,
                                  c->wt->root_mnt, &os_error);

  if (rc == 1) {
    c->l->changed++;
  } else if (rc == 2) {
    c->bad = 1;
  } else if (rc < 0) {
    c->bad = 1;
    note_error(c->l, c->wt, c->it->rel, name, rc, os_error,
               "cannot hand what the job created back to the owner");
  }
}


static int on_entry(void* arg, const char* name, int type) {
  dirctx_t* c = arg;
  local_t* l = c->l;
  wtarget_t* wt = c->wt;
  item_t* child;
  char* rel;
  int rc, os_error = 0;

  if ((++c->n & 255) == 0 && atomic_load(&l->op->canceled))
    return CAPSID_ECANCELED;
  TEST_HOOK(c->self->fd, name);
  if (type != CAPSID__ACL_FT_DIR) {
    reclaim(c, name);
    if (type == CAPSID__ACL_FT_LNK) {
      l->special++;
      return 0;
    }
    l->files++;
    rc = capsid__acl_fs_apply(wt->fs, c->self->fd, name, wt->root_mnt,
                              c->l->w->dry_run, &os_error);
    switch (rc) {
    case CAPSID__ACL_R_UNCHANGED:
    case CAPSID__ACL_R_GONE:
      return 0;
    case CAPSID__ACL_R_CHANGED:
      l->changed++;
      return 0;
    case CAPSID__ACL_R_LINK:
      l->links++;
      report(l, wt, c->it->rel, name, "more than one link");
      return 0;
    case CAPSID__ACL_R_XDEV:
      l->xdev++;
      report(l, wt, c->it->rel, name, "another filesystem or mount");
      return 0;
    case CAPSID__ACL_R_SPECIAL:
      l->special++;
      if (type != CAPSID__ACL_FT_LNK)
        report(l, wt, c->it->rel, name, "not a regular file or directory");
      return 0;
    case CAPSID__ACL_R_DIR:
      l->files--;
      break; /* d_type was unknown: walk it as a directory */
    default:
      c->bad = 1;
      note_error(l, wt, c->it->rel, name, rc, os_error,
                 "cannot set the ACL");
      return 0;
    }
  }
  rel = join(c->it->rel, name);
  /* A changed directory seen again from the record: its recorded
   * subdirectories are checked by the record cursor, not from here. */
  if (c->it->mode == ITEM_SHALLOW && slots_has(wt, rel)) {
    capsid__free(rel);
    return 0;
  }
  if (rel == NULL && c->it->rel != NULL)
    c->bad = 1; /* too deep to record: list this one again next time */
  child = capsid__calloc(1, sizeof(*child));
  if (child == NULL || (child->name = capsid__strdup(name)) == NULL) {
    capsid__free(child);
    capsid__free(rel);
    c->bad = 1;
    note_error(l, wt, c->it->rel, name, CAPSID_ENOMEM, 0, "out of memory");
    return 0;
  }
  child->ti = c->it->ti;
  child->mode = ITEM_FULL;
  child->rel = rel;
  uv_mutex_lock(&l->w->mu);
  c->self->refs++;
  uv_mutex_unlock(&l->w->mu);
  child->parent = c->self;
  push(l->w, child);
  return 0;
}


static void process_dir(local_t* l, item_t* it) {
  wtarget_t* wt = &l->w->targets[it->ti];
  capsid__acl_stat_t st, after;
  capsid__acl_dir_t d;
  dirctx_t c;
  uint64_t handed;
  int rc, os_error = 0;

  if (it->parent != NULL) {
    rc = capsid__acl_fs_open_child(it->parent->fd, it->name, &d, &st,
                                   &os_error);
  } else {
    rc = capsid__acl_fs_open_rel(wt->root, it->rel, &d, &st, &os_error);
  }
  /* The parent's fd is no longer needed by this child. */
  dref_put(l->w, it->parent);
  it->parent = NULL;
  if (rc == CAPSID_ENOENT)
    return; /* removed while we walked */
  if (rc == CAPSID_ELOOP || rc == CAPSID_ENOTDIR) {
    /* Replaced by a symlink or a file since it was listed: never
     * followed. */
    l->special++;
    report(l, wt, it->rel, NULL, "no longer a directory");
    return;
  }
  if (rc == CAPSID_EXDEV) {
    l->xdev++;
    report(l, wt, it->rel, NULL, "another filesystem or mount");
    return;
  }
  if (rc != 0) {
    note_error(l, wt, it->rel, NULL, rc, os_error, "cannot open directory");
    wt->failed = 1; /* its parent is recorded clean: walk it all again */
    return;
  }
  if (st.mnt != wt->root_mnt) {
    capsid__acl_fs_close(d);
    l->xdev++;
    report(l, wt, it->rel, NULL, "another filesystem or mount");
    return;
  }
  if (skip_nested(wt, &st)) {
    capsid__acl_fs_close(d);
    return; /* another target of the plan owns this subtree */
  }
  l->dirs++;
  memset(&c, 0, sizeof(c));
  c.l = l;
  c.wt = wt;
  c.it = it;
  rc = capsid__acl_fs_apply_dir(wt->fs, d, &st, l->w->dry_run, &os_error);
  if (rc == CAPSID__ACL_R_CHANGED) {
    l->changed++;
  } else if (rc < 0) {
    c.bad = 1;
    note_error(l, wt, it->rel, NULL, rc, os_error, "cannot set the ACL");
  }
  c.self = capsid__malloc(sizeof(*c.self));
  if (c.self == NULL) {
    capsid__acl_fs_close(d);
    note_error(l, wt, it->rel, NULL, CAPSID_ENOMEM, 0, "out of memory");
    wt->failed = 1;
    return;
  }
  c.self->fd = d;
  c.self->refs = 1;
  handed = l->changed;
  reclaim(&c, NULL);
  /* The state recorded is taken after our own writes (the ACL, the
   * hand-back: both move ctime) and before the listing, so an entry added
   * while we list shows up as a change next time. */
  if ((rc != CAPSID__ACL_R_CHANGED && l->changed == handed) ||
      l->w->dry_run)
    after = st; /* nothing written: ctime did not move */
  else if (capsid__acl_fs_stat_dir(d, &after, &os_error) != 0)
    after = st, c.bad = 1;
  if (it->mode != ITEM_SINGLE) {
    rc = capsid__acl_fs_list(d, on_entry, &c, &os_error);
    if (rc == CAPSID_ENOENT) {
      /* Removed between the open and the listing (a job's placeholder
       * taken down as another job ends): as if gone before the open. */
      dref_put(l->w, c.self);
      return;
    }
    if (rc == CAPSID_ECANCELED) {
      c.bad = 1;
    } else if (rc != 0) {
      c.bad = 1;
      note_error(l, wt, it->rel, NULL, rc, os_error,
                 "cannot list directory");
    }
  }
  record_dir(l, wt, it->rel, &after, c.bad);
  dref_put(l->w, c.self);
}


/* A non-recursive target: the path itself, directory or file. */
static void process_single(local_t* l, item_t* it) {
  wtarget_t* wt = &l->w->targets[it->ti];
  capsid__acl_dir_t d;
  capsid__acl_stat_t st;
  char* dir;
  const char* base;
  int rc, os_error = 0;

  rc = capsid__acl_fs_open_root(wt->t->path, &d, &st, &os_error);
  if (rc == 0) {
    wt->root_mnt = st.mnt;
    rc = capsid__acl_fs_apply(wt->fs, d, NULL, st.mnt, l->w->dry_run,
                              &os_error);
    capsid__acl_fs_close(d);
  } else if (rc == CAPSID_ENOTDIR) {
    base = strrchr(wt->t->path, '/');
    dir = capsid__strndup(wt->t->path,
                          base == wt->t->path ? 1 : (size_t)(base - wt->t->path));
    rc = dir == NULL ? CAPSID_ENOMEM
                     : capsid__acl_fs_open_root(dir, &d, &st, &os_error);
    capsid__free(dir);
    if (rc == 0) {
      rc = capsid__acl_fs_apply(wt->fs, d, base + 1, st.mnt, l->w->dry_run,
                                &os_error);
      capsid__acl_fs_close(d);
    }
  }
  /* Gone: nothing to grant if optional, nothing left to take back. */
  if (rc == CAPSID_ENOENT &&
      (wt->t->optional || l->op->action == CAPSID__ACL_REVOKE))
    return;
  l->dirs++;
  if (rc == CAPSID__ACL_R_CHANGED)
    l->changed++;
  else if (rc == CAPSID__ACL_R_LINK || rc == CAPSID__ACL_R_SPECIAL)
    report(l, wt, "", NULL, "not changed: special file or several links");
  else if (rc < 0) {
    wt->failed = 1;
    note_error(l, wt, "", NULL, rc, os_error, "cannot set the ACL");
  }
}


/* A tracked apply found the recorded directory rel gone or replaced:
 * nothing recorded beneath it is kept unseen. */
static void drop(local_t* l, wtarget_t* wt, const char* rel) {
  uv_mutex_lock(&l->w->mu);
  if (capsid__strv_push(&wt->dropped, rel) != 0)
    wt->failed = 1; /* the next apply walks the target in full */
  uv_mutex_unlock(&l->w->mu);
}


/* Checks recorded directories [from, to) of target ti. */
static void check_recorded(local_t* l, size_t ti, size_t from, size_t to) {
  wtarget_t* wt = &l->w->targets[ti];
  const capsid__acl_rdir_t* r;
  capsid__acl_stat_t st;
  item_t* it;
  size_t i;
  int rc, os_error, replaced;

  for (i = from; i < to; i++) {
    if (wt->check != NULL && !wt->check[i])
      continue; /* a tracked apply keeps it as recorded (track.c) */
    r = &wt->old->dirs[i];
    rc = capsid__acl_fs_stat_rel(wt->root, r->rel, &st, &os_error);
    if (rc == 0 && st.type == CAPSID__ACL_FT_DIR && st.dev == r->dev &&
        st.ino == r->ino && st.ctime_sec == r->ctime_sec &&
        st.ctime_nsec == r->ctime_nsec) {
      l->unchanged++;
      record_dir(l, wt, r->rel, &st, 0);
      continue;
    }
    replaced = rc == 0 && st.type == CAPSID__ACL_FT_DIR &&
               (st.dev != r->dev || st.ino != r->ino);
    if (wt->check != NULL && (rc != 0 || st.type != CAPSID__ACL_FT_DIR ||
                              replaced))
      drop(l, wt, r->rel); /* its recorded subtree is not kept unseen */
    if (rc == CAPSID_ENOENT || rc == CAPSID_ENOTDIR ||
        (rc == 0 && st.type != CAPSID__ACL_FT_DIR))
      continue; /* gone, or no longer a directory: nothing to keep */
    atomic_fetch_add(&l->op->drifted, 1);
    it = capsid__calloc(1, sizeof(*it));
    if (it == NULL || (it->rel = capsid__strdup(r->rel)) == NULL) {
      capsid__free(it);
      wt->failed = 1;
      continue;
    }
    it->ti = (int)ti;
    /* Another directory in a tracked apply: what is beneath it is new. */
    it->mode = wt->check != NULL && replaced ? ITEM_FULL : ITEM_SHALLOW;
    push(l->w, it);
  }
}


/* ---- the walk loop, shared by every item ---- */

void capsid__acl_walk_loop(local_t* l) {
  capsid__acl_walk_t* w = l->w;
  item_t* it;
  size_t ti, from, to;

  uv_mutex_lock(&w->mu);
  w->walkers++;
  for (;;) {
    if (atomic_load(&l->op->canceled))
      break;
    if (w->stack != NULL) {
      it = w->stack;
      w->stack = it->next;
      w->busy++;
      uv_mutex_unlock(&w->mu);
      if (it->mode == ITEM_SINGLE && w->targets[it->ti].t->recursive == 0)
        process_single(l, it);
      else
        process_dir(l, it);
      capsid__acl_item_free(w, it);
      flush(l);
      uv_mutex_lock(&w->mu);
      w->busy--;
      continue;
    }
    while (w->cur_t < w->n_targets &&
           (w->targets[w->cur_t].old == NULL ||
            w->cur_d >= w->targets[w->cur_t].old->n_dirs)) {
      w->cur_t++;
      w->cur_d = 0;
    }
    if (w->cur_t < w->n_targets) {
      ti = w->cur_t;
      from = w->cur_d;
      to = from + CHUNK;
      if (to > w->targets[ti].old->n_dirs)
        to = w->targets[ti].old->n_dirs;
      w->cur_d = to;
      w->busy++;
      uv_mutex_unlock(&w->mu);
      check_recorded(l, ti, from, to);
      flush(l);
      uv_mutex_lock(&w->mu);
      w->busy--;
      continue;
    }
    if (w->busy == 0) {
      w->finished = 1;
      uv_cond_broadcast(&w->cv);
      break;
    }
    uv_cond_wait(&w->cv, &w->mu);
  }
  w->walkers--;
  uv_cond_broadcast(&w->cv);
  uv_mutex_unlock(&w->mu);
}


capsid__acl_walk_t* capsid__acl_walk_new(void) {
  capsid__acl_walk_t* w = capsid__calloc(1, sizeof(*w));

  if (w == NULL)
    return NULL;
  if (uv_mutex_init(&w->mu) != 0) {
    capsid__free(w);
    return NULL;
  }
  if (uv_cond_init(&w->cv) != 0) {
    uv_mutex_destroy(&w->mu);
    capsid__free(w);
    return NULL;
  }
  w->lock = CAPSID__ACL_NO_DIR;
  return w;
}


void capsid__acl_walk_free(capsid__acl_walk_t* w) {
  size_t i, j;
  wtarget_t* wt;

  if (w == NULL)
    return;
  for (i = 0; i < w->n_targets; i++) {
    wt = &w->targets[i];
    capsid__acl_fsplan_free(wt->fs);
    capsid__acl_fs_close(wt->root);
    capsid__free(wt->set);
    capsid__free(wt->rm);
    capsid__free(wt->slots);
    capsid__free(wt->check);
    capsid__strv_free(&wt->dropped);
    capsid__free(wt->skip);
    for (j = 0; j < wt->out.n_dirs; j++)
      capsid__free(wt->out.dirs[j].rel);
    capsid__free(wt->out.dirs);
  }
  capsid__free(w->targets);
  capsid__acl_record_free(&w->old);
  capsid__acl_fs_unlock(w->lock);
  uv_cond_destroy(&w->cv);
  uv_mutex_destroy(&w->mu);
  capsid__free(w);
}
