/* The walk: every work item of an op runs capsid__acl_walk_work on a pool
 * thread. Item 0 leads: it takes the workspace lock, reads the record,
 * prepares every target (the backend's precomputed ACL blobs among them)
 * and seeds the work; then every item walks; then the leader writes the
 * new record and drops the lock.
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
#include "acl-int.h"

#include <stdio.h>
#include <string.h>

#ifdef CAPSID_FAULT_INJECTION
void (*capsid__acl_test_hook)(capsid__acl_dir_t d, const char* name);
#define TEST_HOOK(d, name)                                                   \
  do {                                                                       \
    if (capsid__acl_test_hook != NULL)                                       \
      capsid__acl_test_hook((d), (name));                                    \
  } while (0)
#else
#define TEST_HOOK(d, name) ((void)0)
#endif

/* Paths longer than this are not recorded: their directory is re-listed
 * on every apply instead (keeps the record and memory bounded on
 * pathologically deep trees). */
#define MAX_REL 2048
#define CHUNK 64
/* A recorded directory whose processing failed gets this ctime, which no
 * real directory has, so the next apply looks at it again. */
#define POISON_SEC (-1)

enum { ITEM_FULL = 1, ITEM_SHALLOW, ITEM_SINGLE };

typedef struct dref_s {
  capsid__acl_dir_t fd;
  int refs; /* under walk->mu */
} dref_t;

typedef struct item_s {
  struct item_s* next;
  int ti;
  int mode;
  dref_t* parent; /* NULL: open rel beneath the target root */
  char* name;
  char* rel; /* NULL when longer than MAX_REL */
} item_t;

typedef struct rslot_s {
  const char* rel;
} rslot_t;

typedef struct wtarget_s {
  const capsid__acl_target_t* t;
  capsid__acl_entry_t* set;
  size_t n_set;
  capsid__acl_entry_t* rm;
  size_t n_rm;
  capsid__acl_fsplan_t* fs;
  capsid__acl_dir_t root;
  uint64_t root_mnt;
  int present;
  int keep;     /* goes into the new record */
  uint64_t digest;
  const capsid__acl_rtarget_t* old; /* record to iterate, or NULL */
  rslot_t* slots; /* hash set of old->dirs[].rel */
  size_t mask;
  uint64_t (*skip)[2]; /* (dev, ino) of nested targets' roots */
  size_t n_skip;
  capsid__acl_rtarget_t out; /* directories for the new record */
  int failed;
} wtarget_t;

struct capsid__acl_walk_s {
  uv_mutex_t mu;
  uv_cond_t cv;
  int led;   /* an item has taken the lead */
  int ready; /* 1: walk; -1: the leader failed */
  int finished;
  unsigned walkers;
  unsigned busy;
  item_t* stack;
  size_t cur_t, cur_d;
  wtarget_t* targets;
  size_t n_targets;
  capsid__acl_record_t old;
  int have_old;
  capsid__acl_dir_t lock;
  int dry_run;
};

typedef struct local_s {
  capsid__acl_op_t* op;
  capsid__acl_walk_t* w;
  uint64_t dirs, files, changed, unchanged, links, xdev, special, errors;
} local_t;


/* ---- small helpers ---- */

static uint64_t hash_str(const char* s) {
  uint64_t h = 14695981039346656037ull;

  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ull;
  }
  return h;
}


static int slots_build(wtarget_t* wt) {
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
  }
  return 0;
}


static int slots_has(const wtarget_t* wt, const char* rel) {
  size_t j;

  if (wt->slots == NULL || rel == NULL)
    return 0;
  for (j = hash_str(rel) & wt->mask; wt->slots[j].rel != NULL;
       j = (j + 1) & wt->mask)
    if (strcmp(wt->slots[j].rel, rel) == 0)
      return 1;
  return 0;
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
static int has_entry(const capsid__acl_entry_t* v, size_t n,
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


static void item_free(capsid__acl_walk_t* w, item_t* it) {
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
  rc = capsid__acl_fs_apply(wt->fs, d, NULL, wt->root_mnt, l->w->dry_run,
                            &os_error);
  if (rc == CAPSID__ACL_R_CHANGED) {
    l->changed++;
  } else if (rc < 0) {
    c.bad = 1;
    note_error(l, wt, it->rel, NULL, rc, os_error, "cannot set the ACL");
  }
  /* The state recorded is taken after our own write (which moves ctime)
   * and before the listing, so an entry added while we list shows up as a
   * change next time. */
  if (capsid__acl_fs_stat_dir(d, &after, &os_error) != 0)
    after = st, c.bad = 1;
  c.self = capsid__malloc(sizeof(*c.self));
  if (c.self == NULL) {
    capsid__acl_fs_close(d);
    note_error(l, wt, it->rel, NULL, CAPSID_ENOMEM, 0, "out of memory");
    wt->failed = 1;
    return;
  }
  c.self->fd = d;
  c.self->refs = 1;
  if (it->mode != ITEM_SINGLE) {
    rc = capsid__acl_fs_list(d, on_entry, &c, &os_error);
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
  if (rc == CAPSID_ENOENT && wt->t->optional)
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


/* Checks recorded directories [from, to) of target ti. */
static void check_recorded(local_t* l, size_t ti, size_t from, size_t to) {
  wtarget_t* wt = &l->w->targets[ti];
  const capsid__acl_rdir_t* r;
  capsid__acl_stat_t st;
  item_t* it;
  size_t i;
  int rc, os_error;

  for (i = from; i < to; i++) {
    r = &wt->old->dirs[i];
    rc = capsid__acl_fs_stat_rel(wt->root, r->rel, &st, &os_error);
    if (rc == 0 && st.type == CAPSID__ACL_FT_DIR && st.dev == r->dev &&
        st.ino == r->ino && st.ctime_sec == r->ctime_sec &&
        st.ctime_nsec == r->ctime_nsec) {
      l->unchanged++;
      record_dir(l, wt, r->rel, &st, 0);
      continue;
    }
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
    it->mode = ITEM_SHALLOW;
    push(l->w, it);
  }
}


/* ---- the walk loop, shared by every item ---- */

static void walk_loop(local_t* l) {
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
      item_free(w, it);
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


/* ---- the leader ---- */

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
  memcpy(wt->set, set, n_set * sizeof(*set));
  wt->n_set = n_set;
  /* Remove only what is not set again. */
  for (i = 0; i < n_rm; i++)
    if (!has_entry(set, n_set, &rm[i]))
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
                has_entry(plan->targets[j].entries,
                          plan->targets[j].n_entries, &o->t.entries[i]);
    if (!covered)
      rm[n++] = o->t.entries[i];
  }
  return add_wtarget(w, &o->t, NULL, 0, rm, n, 0);
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
    if (w->have_old) {
      for (i = 0; i < w->old.n_targets; i++) {
        o = &w->old.targets[i];
        rc = add_wtarget(w, &o->t, NULL, 0, o->t.entries, o->t.n_entries, 0);
        if (rc != 0)
          return rc;
      }
    } else {
      for (i = 0; i < plan->n_targets; i++) {
        rc = add_wtarget(w, &plan->targets[i], NULL, 0,
                         plan->targets[i].entries,
                         plan->targets[i].n_entries, 0);
        if (rc != 0)
          return rc;
      }
    }
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
        if (o == NULL || !has_entry(o->t.entries, o->t.n_entries,
                                    &t->entries[j]))
          need_dirty = 1;
      if (o != NULL && o->complete && w->old.complete && !op->opts.full &&
          o->digest == wt->digest && t->recursive) {
        wt->old = o;
        op->full = 0;
      }
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
    if (rc == CAPSID_ENOENT && (wt->t->optional ||
                                op->action == CAPSID__ACL_REVOKE))
      continue;
    if (rc != 0)
      return op_fail(op, rc, os_error, wt->t->path,
                     "cannot open the directory to walk");
    wt->present = 1;
    wt->root_mnt = st.mnt;
    if (wt->old != NULL && wt->old->n_dirs == 0)
      wt->old = NULL; /* recorded while absent: walk it now */
    if (wt->old != NULL && (rc = slots_build(wt)) != 0)
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

  memcpy(out, a, na * sizeof(*a));
  *n = na;
  for (i = 0; i < nb; i++)
    if (!has_entry(out, *n, &b[i]))
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


static void lead(capsid__acl_op_t* op) {
  capsid__acl_walk_t* w = op->walk;
  local_t l;
  int rc;
  size_t i;

  rc = prepare(op);
  uv_mutex_lock(&w->mu);
  w->ready = rc == 0 ? 1 : -1;
  uv_cond_broadcast(&w->cv);
  uv_mutex_unlock(&w->mu);
  if (rc != 0) {
    op->status = rc;
    goto out;
  }
  atomic_store(&op->phase, CAPSID__ACL_PHASE_WALKING);
  memset(&l, 0, sizeof(l));
  l.op = op;
  l.w = w;
  walk_loop(&l);
  /* Wait for the other walkers to put their last directory down. */
  uv_mutex_lock(&w->mu);
  while (w->walkers > 0)
    uv_cond_wait(&w->cv, &w->mu);
  while (w->stack != NULL) { /* left over after a cancel */
    item_t* it = w->stack;
    w->stack = it->next;
    uv_mutex_unlock(&w->mu);
    item_free(w, it);
    uv_mutex_lock(&w->mu);
  }
  uv_mutex_unlock(&w->mu);

  atomic_store(&op->phase, CAPSID__ACL_PHASE_RECORDING);
  for (i = 0; i < w->n_targets; i++)
    if (w->targets[i].failed)
      op->status = op->status ? op->status : CAPSID_EIO;
  if (!w->dry_run)
    rc = write_record(op, 1);
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
    lead(op);
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
  walk_loop(&l);
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
