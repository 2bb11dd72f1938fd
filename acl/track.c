/* A tracked apply: the record's directories checked only where a watcher
 * saw something change (capsid__acl_opts_t.touched).
 *
 * An incremental apply stats every recorded directory: 10,000 statx, some
 * 40 ms, for a 1M-file workspace, whatever the job did. Elevated mode
 * watches the workspace's filesystems (acl/linux/watch-linux.c) from
 * before the apply that wrote the record, so the directories it did not
 * report are as recorded. Looked at here: every touched directory,
 * every poisoned one (failed or deferred last time), and the recorded
 * subdirectories of both (a rename or removal of a subdirectory is
 * reported on its parent, not on itself). A recorded directory found
 * gone or replaced by another (walk.c, check_recorded) takes its
 * recorded subtree with it: those paths now name something else or
 * nothing, so they are dropped here and what is there now is walked as
 * new. Everything else is kept as recorded without a look. */
#include "walk.h"

#include <stdlib.h>
#include <string.h>


static int pair_cmp(const void* a, const void* b) {
  const uint64_t* x = a;
  const uint64_t* y = b;

  if (x[0] != y[0])
    return x[0] < y[0] ? -1 : 1;
  if (x[1] != y[1])
    return x[1] < y[1] ? -1 : 1;
  return 0;
}


int capsid__acl_touched_add(capsid__acl_touched_t* t, uint64_t dev,
                            uint64_t ino) {
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    void* v = capsid__realloc(t->v, cap * sizeof(*t->v));
    if (v == NULL)
      return CAPSID_ENOMEM;
    t->v = v;
    t->cap = cap;
  }
  t->v[t->n][0] = dev;
  t->v[t->n][1] = ino;
  t->n++;
  return 0;
}


void capsid__acl_touched_free(capsid__acl_touched_t* t) {
  capsid__free(t->v);
  memset(t, 0, sizeof(*t));
}


/* The index of rel's parent directory in old->dirs, or -1 ("" has none). */
static long parent_of(const wtarget_t* wt, const char* rel) {
  const char* slash = strrchr(rel, '/');
  char buf[MAX_REL + 1];
  size_t n;

  if (rel[0] == '\0')
    return -1;
  if (slash == NULL)
    return capsid__acl_slots_find(wt, "");
  n = (size_t)(slash - rel);
  if (n > MAX_REL)
    return -1;
  memcpy(buf, rel, n);
  buf[n] = '\0';
  return capsid__acl_slots_find(wt, buf);
}


int capsid__acl_track_prepare(wtarget_t* wt, const capsid__acl_touched_t* t) {
  const capsid__acl_rdir_t* r;
  uint64_t(*sorted)[2] = NULL;
  uint64_t key[2];
  size_t i, n = wt->old->n_dirs;
  long p;

  wt->check = capsid__calloc(n + 1, 1);
  if (wt->check == NULL)
    return CAPSID_ENOMEM;
  if (t->n > 0) {
    sorted = capsid__malloc(t->n * sizeof(*sorted));
    if (sorted == NULL)
      return CAPSID_ENOMEM;
    memcpy(sorted, t->v, t->n * sizeof(*sorted));
    qsort(sorted, t->n, sizeof(*sorted), pair_cmp);
  }
  for (i = 0; i < n; i++) {
    r = &wt->old->dirs[i];
    key[0] = r->dev;
    key[1] = r->ino;
    if (r->ctime_sec == POISON_SEC ||
        (sorted != NULL &&
         bsearch(key, sorted, t->n, sizeof(*sorted), pair_cmp) != NULL))
      wt->check[i] = 1;
  }
  capsid__free(sorted);
  /* 2: a subdirectory of a directory looked at, and the root itself,
   * whose own change a watcher reports on a parent outside the tree. */
  for (i = 0; i < n; i++)
    if (!wt->check[i] &&
        (wt->old->dirs[i].rel[0] == '\0' ||
         ((p = parent_of(wt, wt->old->dirs[i].rel)) >= 0 &&
          wt->check[p] == 1)))
      wt->check[i] = 2;
  return 0;
}


static int str_cmp(const void* a, const void* b) {
  return strcmp(*(const char* const*)a, *(const char* const*)b);
}


/* Is rel beneath one of the sorted dropped paths? */
static int beneath_dropped(char* const* v, size_t n, const char* rel) {
  char buf[MAX_REL + 1];
  const char* key = buf;
  char* slash;
  size_t len = strlen(rel);

  if (n == 0 || len > MAX_REL)
    return 0;
  memcpy(buf, rel, len + 1);
  while ((slash = strrchr(buf, '/')) != NULL) {
    *slash = '\0';
    if (bsearch(&key, v, n, sizeof(*v), str_cmp) != NULL)
      return 1;
  }
  /* A top-level directory's parent is the root, "". */
  buf[0] = '\0';
  return bsearch(&key, v, n, sizeof(*v), str_cmp) != NULL;
}


int capsid__acl_track_finish(wtarget_t* wt, uint64_t* kept) {
  const capsid__acl_rdir_t* r;
  capsid__acl_stat_t st;
  size_t i;

  if (wt->check == NULL || wt->old == NULL)
    return 0;
  if (wt->dropped.n > 1)
    qsort(wt->dropped.v, wt->dropped.n, sizeof(*wt->dropped.v), str_cmp);
  memset(&st, 0, sizeof(st));
  for (i = 0; i < wt->old->n_dirs; i++) {
    r = &wt->old->dirs[i];
    if (wt->check[i] || beneath_dropped(wt->dropped.v, wt->dropped.n, r->rel))
      continue;
    st.dev = r->dev;
    st.ino = r->ino;
    st.ctime_sec = r->ctime_sec;
    st.ctime_nsec = r->ctime_nsec;
    if (capsid__acl_rdir_push(&wt->out, r->rel, &st) != 0)
      return CAPSID_ENOMEM;
    (*kept)++;
  }
  return 0;
}
