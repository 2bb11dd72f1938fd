/* The per-workspace record: what capsid granted, and the state of every
 * directory it walked, so that the next apply re-checks only directories
 * and rewalks only what changed, and revoke removes exactly what capsid
 * wrote.
 *
 * Format (all integers little-endian):
 *   "CSDACL1\n"  u32 flags(bit0 complete)  str key  u32 n_targets
 *   per target: u8 kind, u8 recursive, u8 optional, u8 complete,
 *               u64 digest, str path, u32 n_entries,
 *               per entry: u8 who_kind, u8 perms, u8 scope, u8 has_sid,
 *                          u32 id, [str sid]
 *               u64 n_dirs, per dir: u64 dev, u64 ino, i64 ctime_sec,
 *                                    u32 ctime_nsec, str rel
 *   u64 FNV-1a of everything before it
 * where str is u32 length + bytes (no NUL inside).
 *
 * The file is replaced atomically. A record that fails any check is
 * reported corrupt, and the caller then walks everything: a bad record can
 * cost time, never a wrong skip. */
#include "acl-int.h"

#include <string.h>

static const char magic[8] = {'C', 'S', 'D', 'A', 'C', 'L', '1', '\n'};

#define MAX_STR (1u << 20)


/* ---- writing ---- */

static int put_u(capsid__buf_t* b, uint64_t v, int bytes) {
  unsigned char x[8];
  int i;

  for (i = 0; i < bytes; i++)
    x[i] = (unsigned char)(v >> (8 * i));
  return capsid__buf_append(b, x, (size_t)bytes);
}


static int put_str(capsid__buf_t* b, const char* s) {
  size_t n = strlen(s);

  if (put_u(b, n, 4) != 0)
    return CAPSID_ENOMEM;
  return capsid__buf_append(b, s, n);
}


int capsid__acl_record_serialize(const capsid__acl_record_t* rec,
                                 capsid__buf_t* b) {
  const capsid__acl_rtarget_t* t;
  const capsid__acl_entry_t* e;
  const capsid__acl_rdir_t* d;
  size_t i, j;
  int rc = 0;

  rc |= capsid__buf_append(b, magic, sizeof(magic));
  rc |= put_u(b, rec->complete ? 1 : 0, 4);
  rc |= put_str(b, rec->key);
  rc |= put_u(b, rec->n_targets, 4);
  for (i = 0; rc == 0 && i < rec->n_targets; i++) {
    t = &rec->targets[i];
    rc |= put_u(b, (uint64_t)t->t.kind, 1);
    rc |= put_u(b, (uint64_t)t->t.recursive, 1);
    rc |= put_u(b, (uint64_t)t->t.optional, 1);
    rc |= put_u(b, (uint64_t)t->complete, 1);
    rc |= put_u(b, t->digest, 8);
    rc |= put_str(b, t->t.path);
    rc |= put_u(b, t->t.n_entries, 4);
    for (j = 0; j < t->t.n_entries; j++) {
      e = &t->t.entries[j];
      rc |= put_u(b, (uint64_t)e->who.kind, 1);
      rc |= put_u(b, e->perms, 1);
      rc |= put_u(b, e->scope, 1);
      rc |= put_u(b, e->who.sid != NULL, 1);
      rc |= put_u(b, e->who.id, 4);
      if (e->who.sid != NULL)
        rc |= put_str(b, e->who.sid);
    }
    rc |= put_u(b, t->n_dirs, 8);
    for (j = 0; rc == 0 && j < t->n_dirs; j++) {
      d = &t->dirs[j];
      rc |= put_u(b, d->dev, 8);
      rc |= put_u(b, d->ino, 8);
      rc |= put_u(b, (uint64_t)d->ctime_sec, 8);
      rc |= put_u(b, d->ctime_nsec, 4);
      rc |= put_str(b, d->rel);
    }
  }
  if (rc == 0)
    rc = put_u(b, capsid__fnv1a(CAPSID__FNV_BASIS, b->data, b->len), 8);
  return rc != 0 ? CAPSID_ENOMEM : 0;
}


/* ---- reading ---- */

typedef struct {
  const unsigned char* p;
  size_t left;
  int bad;
} reader_t;


static uint64_t get_u(reader_t* r, int bytes) {
  uint64_t v = 0;
  int i;

  if (r->bad || r->left < (size_t)bytes) {
    r->bad = 1;
    return 0;
  }
  for (i = 0; i < bytes; i++)
    v |= (uint64_t)r->p[i] << (8 * i);
  r->p += bytes;
  r->left -= (size_t)bytes;
  return v;
}


static char* get_str(reader_t* r) {
  uint64_t n = get_u(r, 4);
  char* s;

  if (r->bad || n > MAX_STR || n > r->left ||
      memchr(r->p, '\0', (size_t)n) != NULL) {
    r->bad = 1;
    return NULL;
  }
  s = capsid__strndup((const char*)r->p, (size_t)n);
  if (s == NULL) {
    r->bad = 1;
    return NULL;
  }
  r->p += n;
  r->left -= (size_t)n;
  return s;
}


int capsid__acl_rdir_push(capsid__acl_rtarget_t* t, const char* rel,
                          const capsid__acl_stat_t* st) {
  capsid__acl_rdir_t* d;

  if (t->n_dirs == t->cap_dirs) {
    size_t cap = t->cap_dirs ? t->cap_dirs * 2 : 64;
    void* v = capsid__realloc(t->dirs, cap * sizeof(*t->dirs));
    if (v == NULL)
      return CAPSID_ENOMEM;
    t->dirs = v;
    t->cap_dirs = cap;
  }
  d = &t->dirs[t->n_dirs];
  /* rel NULL: the caller hands its own string over right after. */
  d->rel = rel != NULL ? capsid__strdup(rel) : NULL;
  if (rel != NULL && d->rel == NULL)
    return CAPSID_ENOMEM;
  d->dev = st->dev;
  d->ino = st->ino;
  d->ctime_sec = st->ctime_sec;
  d->ctime_nsec = st->ctime_nsec;
  t->n_dirs++;
  return 0;
}


/* A recorded path is walked relative to its root: it must stay beneath. */
static int rel_ok(const char* rel) {
  const char* p = rel;
  size_t n;

  if (*p == '\0')
    return 1;
  for (;;) {
    n = strcspn(p, "/");
    if (n == 0 || (n == 1 && p[0] == '.') ||
        (n == 2 && p[0] == '.' && p[1] == '.'))
      return 0;
    if (p[n] == '\0')
      return 1;
    p += n + 1;
  }
}


static int parse_target(reader_t* r, capsid__acl_rtarget_t* t) {
  capsid__acl_entry_t* e;
  capsid__acl_stat_t st;
  uint64_t n, i;
  char* rel;

  t->t.kind = (capsid__acl_target_kind_t)get_u(r, 1);
  t->t.recursive = (int)get_u(r, 1);
  t->t.optional = (int)get_u(r, 1);
  t->complete = (int)get_u(r, 1);
  t->digest = get_u(r, 8);
  t->t.path = get_str(r);
  if (r->bad || t->t.kind < CAPSID__ACL_T_WRITE ||
      t->t.kind > CAPSID__ACL_T_DENY || t->t.recursive > 1 ||
      t->t.optional > 1 || t->complete > 1 ||
      !capsid__path_is_absolute(t->t.path))
    return -1;
  n = get_u(r, 4);
  /* Each entry takes at least 8 bytes: a count beyond what is left is a
   * lie, and must not become an allocation. */
  if (r->bad || n > 64 || n * 8 > r->left)
    return -1;
  t->t.entries = capsid__calloc((size_t)n ? (size_t)n : 1, sizeof(*e));
  if (t->t.entries == NULL)
    return -1;
  for (i = 0; i < n; i++) {
    e = &t->t.entries[i];
    t->t.n_entries++;
    e->who.kind = (capsid__acl_who_kind_t)get_u(r, 1);
    e->perms = (unsigned)get_u(r, 1);
    e->scope = (unsigned)get_u(r, 1);
    if (get_u(r, 1))
      e->who.id = (uint32_t)get_u(r, 4), e->who.sid = get_str(r);
    else
      e->who.id = (uint32_t)get_u(r, 4);
    if (r->bad || (e->who.kind != CAPSID__ACL_USER &&
                   e->who.kind != CAPSID__ACL_GROUP) ||
        e->perms > 31 || e->scope == 0 || e->scope > 3)
      return -1;
  }
  n = get_u(r, 8);
  if (r->bad || n > r->left / 32)
    return -1;
  for (i = 0; i < n; i++) {
    memset(&st, 0, sizeof(st));
    st.dev = get_u(r, 8);
    st.ino = get_u(r, 8);
    st.ctime_sec = (int64_t)get_u(r, 8);
    st.ctime_nsec = (uint32_t)get_u(r, 4);
    rel = get_str(r);
    if (r->bad || st.ctime_nsec >= 1000000000u || !rel_ok(rel)) {
      capsid__free(rel);
      return -1;
    }
    if (capsid__acl_rdir_push(t, NULL, &st) != 0) {
      capsid__free(rel);
      return -1;
    }
    t->dirs[t->n_dirs - 1].rel = rel; /* owned from here */
  }
  return 0;
}


int capsid__acl_record_parse(const void* data, size_t len,
                             capsid__acl_record_t* out) {
  reader_t r;
  uint64_t n, i;

  memset(out, 0, sizeof(*out));
  if (len < sizeof(magic) + 8 || memcmp(data, magic, sizeof(magic)) != 0)
    return CAPSID_ECORRUPT;
  r.p = (const unsigned char*)data + len - 8;
  r.left = 8;
  r.bad = 0;
  if (get_u(&r, 8) != capsid__fnv1a(CAPSID__FNV_BASIS, data, len - 8))
    return CAPSID_ECORRUPT;
  r.p = (const unsigned char*)data + sizeof(magic);
  r.left = len - 8 - sizeof(magic);
  r.bad = 0;
  n = get_u(&r, 4);
  out->complete = (int)(n & 1);
  out->key = get_str(&r);
  n = get_u(&r, 4);
  if (r.bad || n > 4096 || n > r.left / 8)
    goto corrupt;
  out->targets = capsid__calloc((size_t)n ? (size_t)n : 1,
                                sizeof(*out->targets));
  if (out->targets == NULL)
    goto corrupt;
  for (i = 0; i < n; i++) {
    out->n_targets++;
    if (parse_target(&r, &out->targets[i]) != 0)
      goto corrupt;
  }
  if (r.bad || r.left != 0)
    goto corrupt;
  return 0;

corrupt:
  capsid__acl_record_free(out);
  return CAPSID_ECORRUPT;
}


void capsid__acl_record_free(capsid__acl_record_t* rec) {
  size_t i, j;
  capsid__acl_rtarget_t* t;

  if (rec == NULL)
    return;
  for (i = 0; i < rec->n_targets; i++) {
    t = &rec->targets[i];
    for (j = 0; j < t->t.n_entries; j++)
      capsid__free((char*)t->t.entries[j].who.sid);
    capsid__free(t->t.entries);
    capsid__free(t->t.path);
    for (j = 0; j < t->n_dirs; j++)
      capsid__free(t->dirs[j].rel);
    capsid__free(t->dirs);
  }
  capsid__free(rec->targets);
  capsid__free(rec->key);
  memset(rec, 0, sizeof(*rec));
}


char* capsid__acl_record_path(const char* state_dir, const char* key,
                              const char* suffix) {
  uint64_t h = capsid__fnv1a(CAPSID__FNV_BASIS, key, strlen(key));

  return capsid__sprintf("%s/acl/%016llx%s", state_dir,
                         (unsigned long long)h, suffix);
}
