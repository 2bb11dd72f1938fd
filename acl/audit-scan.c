/* The world-writable audit on the worker pool: see audit-scan.h.
 *
 * Why per place: the places are few (tens) and independent, and each one
 * costs a listing plus one security read per entry, which is where the
 * time goes on Windows (an open and a GetSecurityInfo per child). One
 * work item per place lets the pool's threads overlap those reads, as the
 * ACL walk does (walk.c); every item writes only its own slot, so nothing
 * but the counters is shared.
 *
 * Why the record holds finding names and not verdicts: a place whose
 * change time did not move has the same entries, so only the entries that
 * were findings can still be; looking at them again costs a few reads and
 * drops the ones that were fixed, and their reasons come back as the
 * backend's own static strings. What it cannot see is a DACL or mode
 * changed later on an entry that was clean, hence the record's age limit.
 * The change time (ctime, NTFS ChangeTime) moves with every last-write
 * time of a directory and with its own DACL too, so it is the safer of
 * the two stamps to compare. */
#include "audit-scan.h"

#include "acl-int.h"
#include "log.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SCAN_PROGRESS_MS 100
#define SCAN_MAX_AGE_S (24 * 3600)
#define SCAN_MAX_PLACES 4096 /* kept in the record, newest first */

typedef struct place_rec_s {
  char* path;
  uint64_t dev, ino;
  int64_t ctime_sec;
  uint32_t ctime_nsec;
  int64_t at; /* when it was listed (seconds since the epoch) */
  capsid__strv_t names; /* its entries that were findings */
} place_rec_t;

typedef struct scan_s scan_t;

typedef struct item_s {
  capsid__work_t w;
  scan_t* s;
  const char* dir;
  const place_rec_t* old; /* recorded and still the same: NULL to list */
  capsid__acl_audit_t found;
  place_rec_t rec; /* what the record gets (rec.path NULL: nothing) */
  uint64_t start_ns; /* when a pool thread took it: its stage's start */
  int rc;
} item_t;

struct scan_s {
  const capsid__acl_scan_opts_t* o;
  uint64_t deadline_ns, start_ns;
  atomic_uint_fast64_t dirs, files, found, unchanged;
  atomic_int timed_out;
  int full;
  item_t* items;
  size_t n, n_done;
  uv_timer_t timer;
  int timer_live;
};


static void place_free(place_rec_t* p) {
  capsid__free(p->path);
  capsid__strv_free(&p->names);
  memset(p, 0, sizeof(*p));
}


static void places_free(place_rec_t* v, size_t n) {
  size_t i;

  for (i = 0; i < n; i++)
    place_free(&v[i]);
  capsid__free(v);
}


/* ---- the record ---- */

static char* record_key(const capsid__acl_audit_opts_t* a) {
  capsid__buf_t b = {0};
  char num[16];
  size_t i;

  /* Findings depend on the groups asked about (Linux), not on the roots:
   * the record keeps raw findings and the roots filter them after. */
  capsid__buf_append(&b, "capsid audit", 12);
  for (i = 0; i < a->n_gids; i++) {
    snprintf(num, sizeof(num), " %u", (unsigned)a->gids[i]);
    capsid__buf_append(&b, num, strlen(num));
  }
  if (capsid__buf_append(&b, "", 1) != 0) {
    capsid__buf_free(&b);
    return NULL;
  }
  return (char*)b.data;
}


static char* record_file(const capsid__acl_scan_opts_t* o) {
  char* key;
  char* path;

  if (o->state_dir == NULL)
    return NULL;
  key = record_key(&o->audit);
  path = key != NULL ? capsid__acl_record_path(o->state_dir, key, ".scan")
                     : NULL;
  capsid__free(key);
  return path;
}


static int64_t json_int(json_t* o, const char* k) {
  return (int64_t)json_integer_value(json_object_get(o, k));
}


/* A record that does not parse is no record: the scan lists everything. */
static void record_load(const char* file, place_rec_t** out, size_t* n) {
  capsid__buf_t buf = {0};
  json_t* root = NULL;
  json_t* arr;
  json_t* e;
  size_t i, j, k = 0;
  int os_error = 0;

  *out = NULL;
  *n = 0;
  if (file == NULL || capsid__acl_fs_read_file(file, &buf, &os_error) != 0)
    return;
  root = json_loadb((const char*)buf.data, buf.len, 0, NULL);
  capsid__buf_free(&buf);
  arr = json_object_get(root, "places");
  if (!json_is_array(arr) || json_array_size(arr) == 0 ||
      (*out = capsid__calloc(json_array_size(arr), sizeof(**out))) == NULL) {
    json_decref(root);
    return;
  }
  json_array_foreach(arr, i, e) {
    place_rec_t* p = &(*out)[k];
    json_t* names = json_object_get(e, "findings");
    json_t* v;
    const char* path = json_string_value(json_object_get(e, "path"));
    if (path == NULL || !json_is_array(names) ||
        (p->path = capsid__strdup(path)) == NULL)
      continue;
    p->dev = (uint64_t)json_int(e, "dev");
    p->ino = (uint64_t)json_int(e, "ino");
    p->ctime_sec = json_int(e, "ctime_sec");
    p->ctime_nsec = (uint32_t)json_int(e, "ctime_nsec");
    p->at = json_int(e, "at");
    json_array_foreach(names, j, v)
      if (json_is_string(v))
        capsid__strv_push(&p->names, json_string_value(v));
    k++;
  }
  *n = k;
  json_decref(root);
}


static json_t* place_json(const place_rec_t* p) {
  json_t* names = json_array();
  size_t i;

  for (i = 0; i < p->names.n; i++)
    json_array_append_new(names, json_string(p->names.v[i]));
  return json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:o}", "path", p->path, "dev",
                   (json_int_t)p->dev, "ino", (json_int_t)p->ino,
                   "ctime_sec", (json_int_t)p->ctime_sec, "ctime_nsec",
                   (json_int_t)p->ctime_nsec, "at", (json_int_t)p->at,
                   "findings", names);
}


/* This scan's places, then the older record's others (another caller's
 * places share the file), up to SCAN_MAX_PLACES. Written atomically; a
 * failure only costs the next scan its shortcut. */
static void record_write(const char* file, const capsid__acl_scan_opts_t* o,
                         const scan_t* s, const place_rec_t* old,
                         size_t n_old) {
  json_t* arr = json_array();
  json_t* root;
  char* dir;
  char* text;
  size_t i, j, n = 0;
  int os_error = 0, seen;

  for (i = 0; i < s->n && n < SCAN_MAX_PLACES; i++)
    if (s->items[i].rec.path != NULL &&
        json_array_append_new(arr, place_json(&s->items[i].rec)) == 0)
      n++;
  for (i = 0; i < n_old && n < SCAN_MAX_PLACES; i++) {
    for (seen = 0, j = 0; !seen && j < s->n; j++)
      seen = strcmp(old[i].path, s->items[j].dir) == 0;
    if (!seen && json_array_append_new(arr, place_json(&old[i])) == 0)
      n++;
  }
  root = json_pack("{s:i,s:o}", "version", 1, "places", arr);
  text = root != NULL ? json_dumps(root, JSON_COMPACT) : NULL;
  dir = capsid__sprintf("%s/acl", o->state_dir);
  if (text != NULL && dir != NULL &&
      capsid__acl_fs_mkdirs(dir, &os_error) == 0)
    (void)capsid__acl_fs_write_atomic(file, text, strlen(text), &os_error);
  free(text); /* jansson's allocator */
  capsid__free(dir);
  json_decref(root);
}


/* ---- one place, on a worker thread ---- */

static int expired(const scan_t* s) {
  if (capsid__hrtime() <= s->deadline_ns)
    return 0;
  atomic_store((atomic_int*)&s->timed_out, 1);
  return 1;
}


static int is_root_dir(const char* path) {
  return strlen(path) <= capsid__path_root_len(path);
}


int capsid__acl_audit_add(capsid__acl_audit_t* a, const char* path,
                          int is_dir, const char* why) {
  char* copy = capsid__strdup(path);

  if (copy == NULL)
    return CAPSID_ENOMEM;
  if (a->n == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 8;
    void* v = capsid__realloc(a->v, cap * sizeof(*a->v));
    if (v == NULL) {
      capsid__free(copy);
      return CAPSID_ENOMEM;
    }
    a->v = v;
    a->cap = cap;
  }
  a->v[a->n].path = copy;
  a->v[a->n].is_dir = is_dir;
  a->v[a->n].why = why;
  a->n++;
  return 0;
}


/* Entry name of directory d (whose path is dir): a finding? */
static int check_entry(item_t* it, capsid__acl_dir_t d, const char* dir,
                       const char* name, int record) {
  const capsid__acl_audit_opts_t* a = &it->s->o->audit;
  const char* why;
  char* path;
  int is_dir = 0, rc;

  why = capsid__acl_fs_audit_entry(d, name, a->gids, a->n_gids, &is_dir);
  atomic_fetch_add(is_dir ? &it->s->dirs : &it->s->files, 1);
  if (why == NULL)
    return 0;
  path = capsid__sprintf("%s%s%s", dir, is_root_dir(dir) ? "" : "/", name);
  rc = path != NULL ? capsid__acl_audit_add(&it->found, path, is_dir, why)
                    : CAPSID_ENOMEM;
  if (rc == 0)
    atomic_fetch_add(&it->s->found, 1);
  capsid__free(path);
  if (rc == 0 && record)
    rc = capsid__strv_push(&it->rec.names, name) != 0 ? CAPSID_ENOMEM : 0;
  return rc;
}


/* The place itself, looked at through its parent as the job would. */
static int check_place(item_t* it) {
  capsid__acl_dir_t d;
  char* parent;
  char* slash;
  int rc = 0, os_error = 0;

  if (is_root_dir(it->dir))
    return 0;
  parent = capsid__strdup(it->dir);
  if (parent == NULL)
    return CAPSID_ENOMEM;
  slash = strrchr(parent, '/');
  if (slash != NULL) {
    /* "/usr" -> "/", "C:/x" -> "C:/" */
    if ((size_t)(slash - parent) < capsid__path_root_len(it->dir))
      slash[1] = '\0';
    else
      *slash = '\0';
    if (capsid__acl_fs_open_root(parent, &d, NULL, &os_error) == 0) {
      rc = check_entry(it, d, parent, strrchr(it->dir, '/') + 1, 0);
      capsid__acl_fs_close(d);
    }
  }
  capsid__free(parent);
  return rc;
}


typedef struct list_s {
  item_t* it;
  capsid__acl_dir_t d;
  int rc;
} list_t;


static int on_entry(void* arg, const char* name, int type) {
  list_t* l = arg;

  (void)type;
  if (expired(l->it->s))
    return 1;
  l->rc = check_entry(l->it, l->d, l->it->dir, name, 1);
  return l->rc != 0;
}


static int same_dir(const place_rec_t* p, const capsid__acl_stat_t* st) {
  return p->dev == st->dev && p->ino == st->ino &&
         p->ctime_sec == st->ctime_sec && p->ctime_nsec == st->ctime_nsec;
}


static void place_work(capsid__work_t* w) {
  item_t* it = w->data;
  capsid__acl_stat_t st;
  capsid__acl_dir_t d;
  list_t l;
  size_t i;
  int os_error = 0;

  it->start_ns = capsid__hrtime();
  if (expired(it->s))
    return;
  it->rc = check_place(it);
  if (it->rc != 0 ||
      capsid__acl_fs_open_root(it->dir, &d, &st, &os_error) != 0)
    return; /* unreadable or gone: nothing a job can use either */
  it->rec.dev = st.dev;
  it->rec.ino = st.ino;
  it->rec.ctime_sec = st.ctime_sec;
  it->rec.ctime_nsec = st.ctime_nsec;
  if (it->old != NULL && same_dir(it->old, &st)) {
    atomic_fetch_add(&it->s->unchanged, 1);
    it->rec.at = it->old->at;
    for (i = 0; it->rc == 0 && i < it->old->names.n; i++)
      it->rc = check_entry(it, d, it->dir, it->old->names.v[i], 1);
  } else {
    it->rec.at = (int64_t)time(NULL);
    memset(&l, 0, sizeof(l));
    l.it = it;
    l.d = d;
    (void)capsid__acl_fs_list(d, on_entry, &l, &os_error);
    it->rc = l.rc;
  }
  capsid__acl_fs_close(d);
  /* Only a place seen to the end goes into the record. */
  if (it->rc == 0 && !atomic_load(&it->s->timed_out))
    it->rec.path = capsid__strdup(it->dir);
}


/* ---- the loop side ---- */

static void snapshot(const scan_t* s, int phase, capsid__acl_stats_t* out) {
  scan_t* m = (scan_t*)s;

  memset(out, 0, sizeof(*out));
  out->phase = phase;
  out->dirs = atomic_load(&m->dirs);
  out->files = atomic_load(&m->files);
  out->changed = atomic_load(&m->found);
  out->unchanged_dirs = atomic_load(&m->unchanged);
  out->full = s->full;
  out->elapsed_ms = (double)(capsid__hrtime() - s->start_ns) / 1e6;
}


static void timer_cb(uv_timer_t* t) {
  scan_t* s = t->data;
  capsid__acl_stats_t st;

  snapshot(s, CAPSID__ACL_PHASE_WALKING, &st);
  s->o->progress(&st, s->o->data);
}


static void item_done(capsid__work_t* w, int status) {
  item_t* it = w->data;
  scan_t* s = it->s;
  char what[64];

  /* A dropped item found nothing and records nothing. The stage line is
   * written here, on the loop thread, one per place. */
  if (status == 0 && it->start_ns != 0) {
    snprintf(what, sizeof(what), "audit %.54s", it->dir);
    capsid__log_stage(what, it->start_ns, it->rc);
  }
  if (++s->n_done == s->n && s->timer_live) {
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t*)&s->timer, NULL);
  }
}


static const place_rec_t* recorded(const place_rec_t* v, size_t n,
                                   const char* dir, int64_t now) {
  size_t i;

  for (i = 0; i < n; i++)
    if (strcmp(v[i].path, dir) == 0)
      return now - v[i].at <= SCAN_MAX_AGE_S && v[i].at <= now ? &v[i]
                                                               : NULL;
  return NULL;
}


static int run_items(scan_t* s) {
  capsid__pool_t* pool = NULL;
  uv_loop_t loop;
  unsigned threads = s->o->threads;
  size_t i;
  int rc;

  if (uv_loop_init(&loop) != 0)
    return CAPSID_ENOMEM;
  if (threads == 0 || threads > s->n)
    threads = s->n < 64 ? (unsigned)s->n : 64;
  if (s->o->threads == 0 && threads > uv_available_parallelism())
    threads = uv_available_parallelism();
  rc = capsid__pool_new(&loop, threads, &pool);
  if (rc == 0 && s->o->progress != NULL) {
    uv_timer_init(&loop, &s->timer);
    s->timer.data = s;
    uv_timer_start(&s->timer, timer_cb, SCAN_PROGRESS_MS, SCAN_PROGRESS_MS);
    s->timer_live = 1;
  }
  for (i = 0; rc == 0 && i < s->n; i++)
    capsid__pool_submit(pool, &s->items[i].w);
  capsid__pool_run_private(&loop, pool, rc == 0);
  return rc;
}


/* Every item's findings, in place order, once each, roots left out. */
static int merge(const scan_t* s, capsid__acl_audit_t* out) {
  size_t i, j, k;
  int dup;

  for (i = 0; i < s->n; i++) {
    capsid__acl_audit_t* f = &s->items[i].found;
    for (j = 0; j < f->n; j++) {
      for (dup = 0, k = 0; !dup && k < out->n; k++)
        dup = strcmp(out->v[k].path, f->v[j].path) == 0;
      if (dup || capsid__acl_audit_in_roots(&s->o->audit, f->v[j].path))
        continue;
      if (capsid__acl_audit_add(out, f->v[j].path, f->v[j].is_dir,
                                f->v[j].why) != 0)
        return CAPSID_ENOMEM;
    }
  }
  return 0;
}


int capsid__acl_audit_scan(const capsid__acl_scan_opts_t* o,
                           capsid__acl_audit_t* out,
                           capsid__acl_stats_t* stats) {
  capsid__strv_t places = {0};
  const char* const* dirs = o->audit.dirs;
  place_rec_t* old = NULL;
  char* file = record_file(o);
  int64_t now = (int64_t)time(NULL);
  size_t n_old = 0, i;
  scan_t s;
  int rc = 0;

  memset(out, 0, sizeof(*out));
  memset(&s, 0, sizeof(s));
  s.o = o;
  s.start_ns = capsid__hrtime();
  s.deadline_ns = s.start_ns + (o->audit.budget_ms ? o->audit.budget_ms
                                                   : 2000) * (uint64_t)1000000;
  if (dirs == NULL) {
    rc = capsid__acl_audit_places(&o->audit, &places);
    dirs = (const char* const*)places.v;
  }
  if (!o->full)
    record_load(file, &old, &n_old);
  for (s.n = 0; dirs != NULL && dirs[s.n] != NULL; s.n++)
    ;
  s.items = s.n ? capsid__calloc(s.n, sizeof(*s.items)) : NULL;
  if (rc == 0 && s.n > 0 && s.items == NULL)
    rc = CAPSID_ENOMEM;
  s.full = 1;
  for (i = 0; rc == 0 && i < s.n; i++) {
    s.items[i].s = &s;
    s.items[i].dir = dirs[i];
    s.items[i].old = recorded(old, n_old, dirs[i], now);
    s.full &= s.items[i].old == NULL;
    s.items[i].w.work_cb = place_work;
    s.items[i].w.done_cb = item_done;
    s.items[i].w.data = &s.items[i];
  }
  if (rc == 0 && s.n > 0)
    rc = run_items(&s);
  for (i = 0; rc == 0 && i < s.n; i++)
    rc = s.items[i].rc;
  if (rc == 0)
    rc = merge(&s, out);
  if (rc == 0 && file != NULL)
    record_write(file, o, &s, old, n_old);
  out->scanned = atomic_load(&s.dirs) + atomic_load(&s.files);
  out->timed_out = atomic_load(&s.timed_out);
  out->elapsed_ms = (double)(capsid__hrtime() - s.start_ns) / 1e6;
  if (stats != NULL)
    snapshot(&s, CAPSID__ACL_PHASE_DONE, stats);
  if (o->progress != NULL && rc == 0) {
    capsid__acl_stats_t st;
    snapshot(&s, CAPSID__ACL_PHASE_DONE, &st);
    o->progress(&st, o->data);
  }
  for (i = 0; i < s.n; i++) {
    capsid__acl_audit_free(&s.items[i].found);
    place_free(&s.items[i].rec);
  }
  capsid__free(s.items);
  places_free(old, n_old);
  capsid__strv_free(&places);
  capsid__free(file);
  if (rc != 0)
    capsid__acl_audit_free(out);
  return rc;
}
