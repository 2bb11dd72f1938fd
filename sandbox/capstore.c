/* The capability store (see capstore.h). File format, version 1:
 *
 *   {"version":1,"first":3210000000,"count":65536,"next":3210000005,
 *    "workspaces":{"/home/me/proj":3210000003},
 *    "roots":{"/home/me/cache":3210000004}}
 *
 * A Windows store also has "sid_domain":"S-1-5-21-a-b-c" (capstore.h).
 * The parser is strict: every id must lie in the range, below "next",
 * past the three fixed ids, and be used once; paths must be absolute.
 * Anything else is corruption, not something to repair by guessing. */
#include "capstore.h"

#include "file.h"
#include "policy.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STORE_MAX_BYTES (64u << 20)


int capsid__capstore_init(capsid__capstore_t* s, uint32_t first,
                          uint32_t count) {
  memset(s, 0, sizeof(*s));
  if (count <= 3 || (uint64_t)first + count > UINT32_MAX)
    return CAPSID_ERANGE;
  s->first = first;
  s->count = count;
  s->next = first + 3;
  return 0;
}


static void entries_free(capsid__cap_entry_t* v, size_t n) {
  size_t i;

  for (i = 0; i < n; i++)
    capsid__free(v[i].path);
  capsid__free(v);
}


void capsid__capstore_free(capsid__capstore_t* s) {
  entries_free(s->workspaces, s->n_workspaces);
  entries_free(s->roots, s->n_roots);
  memset(s, 0, sizeof(*s));
}


static int corrupt(capsid_error_t* err, const char* fmt, const char* what) {
  return capsid__error_set(err, CAPSID_ECORRUPT, CAPSID_STAGE_CAPABILITY, 0,
                           NULL, NULL, fmt, what);
}


static int get_u32(json_t* obj, const char* key, uint32_t* out,
                   capsid_error_t* err) {
  json_t* v = json_object_get(obj, key);
  json_int_t n;

  if (!json_is_integer(v))
    return corrupt(err, "capability store: \"%s\" must be an integer", key);
  n = json_integer_value(v);
  if (n < 0 || n > (json_int_t)UINT32_MAX)
    return corrupt(err, "capability store: \"%s\" is out of range", key);
  *out = (uint32_t)n;
  return 0;
}


static int id_taken(const capsid__capstore_t* s, uint32_t id) {
  size_t i;

  for (i = 0; i < s->n_workspaces; i++)
    if (s->workspaces[i].id == id)
      return 1;
  for (i = 0; i < s->n_roots; i++)
    if (s->roots[i].id == id)
      return 1;
  return 0;
}


static int add_entry(capsid__cap_entry_t** v, size_t* n, const char* path,
                     uint32_t id) {
  capsid__cap_entry_t* grown;
  char* copy = capsid__strdup(path);

  if (copy == NULL)
    return CAPSID_ENOMEM;
  grown = capsid__realloc(*v, (*n + 1) * sizeof(**v));
  if (grown == NULL) {
    capsid__free(copy);
    return CAPSID_ENOMEM;
  }
  grown[*n].path = copy;
  grown[*n].id = id;
  *v = grown;
  (*n)++;
  return 0;
}


/* "S-1-5-21-" and three decimal 32-bit values: the random domain of a
 * Windows store's capability SIDs. */
static int valid_sid_domain(const char* s) {
  unsigned long long v;
  char* end;
  int i;

  if (strlen(s) >= CAPSID__SID_DOMAIN_MAX || strncmp(s, "S-1-5-21-", 9) != 0)
    return 0;
  s += 9;
  for (i = 0; i < 3; i++) {
    if (*s < '0' || *s > '9')
      return 0;
    v = strtoull(s, &end, 10);
    if (v > UINT32_MAX || (i < 2 ? *end != '-' : *end != '\0'))
      return 0;
    s = end + (i < 2);
  }
  return 1;
}


static int parse_map(json_t* root, const char* key, capsid__capstore_t* s,
                     int workspaces, capsid_error_t* err) {
  json_t* map = json_object_get(root, key);
  const char* path;
  json_t* v;
  json_int_t n;
  int rc;

  if (!json_is_object(map))
    return corrupt(err, "capability store: \"%s\" must be an object", key);
  json_object_foreach(map, path, v) {
    if (!capsid__path_is_absolute(path))
      return corrupt(err, "capability store: %s path is not absolute", key);
    if (!json_is_integer(v))
      return corrupt(err, "capability store: an id in \"%s\" is not an "
                          "integer", key);
    n = json_integer_value(v);
    if (n < (json_int_t)s->first + 3 || n >= (json_int_t)s->next)
      return corrupt(err, "capability store: an id in \"%s\" is outside "
                          "the allocated range", key);
    if (id_taken(s, (uint32_t)n))
      return corrupt(err, "capability store: an id in \"%s\" is used "
                          "twice", key);
    rc = workspaces ? add_entry(&s->workspaces, &s->n_workspaces, path,
                                (uint32_t)n)
                    : add_entry(&s->roots, &s->n_roots, path, (uint32_t)n);
    if (rc != 0)
      return capsid__error_set(err, rc, CAPSID_STAGE_CAPABILITY, 0, NULL,
                               NULL, "out of memory");
  }
  return 0;
}


int capsid__capstore_parse(const char* text, size_t len,
                           capsid__capstore_t* out, capsid_error_t* err) {
  json_error_t jerr;
  json_t* root;
  uint32_t version = 0;
  int rc;

  memset(out, 0, sizeof(*out));
  root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL)
    return capsid__error_set(err, CAPSID_ECORRUPT, CAPSID_STAGE_CAPABILITY,
                             0, NULL, NULL,
                             "capability store: not valid JSON (line %d: "
                             "%s)",
                             jerr.line, jerr.text);
  if (!json_is_object(root)) {
    rc = corrupt(err, "capability store: %s", "not a JSON object");
    goto done;
  }
  rc = get_u32(root, "version", &version, err);
  if (rc == 0 && version != CAPSID__CAPSTORE_VERSION)
    rc = corrupt(err, "capability store: %s", "unknown version");
  if (rc == 0)
    rc = get_u32(root, "first", &out->first, err);
  if (rc == 0)
    rc = get_u32(root, "count", &out->count, err);
  if (rc == 0)
    rc = get_u32(root, "next", &out->next, err);
  if (rc == 0 && (out->count <= 3 ||
                  (uint64_t)out->first + out->count > UINT32_MAX ||
                  out->next < out->first + 3 ||
                  (uint64_t)out->next > (uint64_t)out->first + out->count))
    rc = corrupt(err, "capability store: %s", "the id range is invalid");
  if (rc == 0 && json_object_get(root, "sid_domain") != NULL) {
    json_t* d = json_object_get(root, "sid_domain");
    if (!json_is_string(d) || !valid_sid_domain(json_string_value(d)))
      rc = corrupt(err, "capability store: %s",
                   "\"sid_domain\" must be \"S-1-5-21-a-b-c\"");
    else
      snprintf(out->sid_domain, sizeof(out->sid_domain), "%s",
               json_string_value(d));
  }
  if (rc == 0)
    rc = parse_map(root, "workspaces", out, 1, err);
  if (rc == 0)
    rc = parse_map(root, "roots", out, 0, err);
done:
  json_decref(root);
  if (rc != 0)
    capsid__capstore_free(out);
  return rc;
}


char* capsid__capstore_format(const capsid__capstore_t* s) {
  json_t* root = json_object();
  json_t* ws = json_object();
  json_t* roots = json_object();
  char* text;
  char* copy;
  size_t i;

  if (root == NULL || ws == NULL || roots == NULL) {
    json_decref(root);
    json_decref(ws);
    json_decref(roots);
    return NULL;
  }
  json_object_set_new(root, "version", json_integer(CAPSID__CAPSTORE_VERSION));
  json_object_set_new(root, "first", json_integer(s->first));
  json_object_set_new(root, "count", json_integer(s->count));
  json_object_set_new(root, "next", json_integer(s->next));
  if (s->sid_domain[0] != '\0')
    json_object_set_new(root, "sid_domain", json_string(s->sid_domain));
  for (i = 0; i < s->n_workspaces; i++)
    json_object_set_new(ws, s->workspaces[i].path,
                        json_integer(s->workspaces[i].id));
  for (i = 0; i < s->n_roots; i++)
    json_object_set_new(roots, s->roots[i].path,
                        json_integer(s->roots[i].id));
  json_object_set_new(root, "workspaces", ws);
  json_object_set_new(root, "roots", roots);
  text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
  json_decref(root);
  if (text == NULL)
    return NULL;
  /* jansson allocates with malloc; hand out capsid's allocator's copy. */
  copy = capsid__strdup(text);
  free(text);
  return copy;
}


static char* store_path(const char* dir) {
  return capsid__sprintf("%s/%s", dir, CAPSID__CAPSTORE_FILE);
}


int capsid__capstore_load(const char* dir, capsid__capstore_t* out,
                          capsid_error_t* err) {
  char* path = store_path(dir);
  char* aside;
  char* text = NULL;
  size_t len = 0;
  int os_error = 0, rc;

  memset(out, 0, sizeof(*out));
  if (path == NULL)
    return CAPSID_ENOMEM;
  rc = capsid__file_read(path, STORE_MAX_BYTES, &text, &len, &os_error);
  if (rc == CAPSID_ENOENT) {
    rc = capsid__error_set(err, CAPSID_ENOSETUP, CAPSID_STAGE_CAPABILITY,
                           os_error, path, NULL,
                           "no capability store: run `capsid setup` as "
                           "root first");
    capsid__free(path);
    return rc;
  }
  if (rc == 0)
    rc = capsid__capstore_parse(text, len, out, err);
  else if (rc == CAPSID_ETOOLONG)
    rc = capsid__error_set(err, CAPSID_ECORRUPT, CAPSID_STAGE_CAPABILITY,
                           os_error, path, NULL, "capability store is too "
                           "large");
  else
    rc = capsid__error_set(err, rc, CAPSID_STAGE_CAPABILITY, os_error, path,
                           NULL, "cannot read the capability store");
  capsid__free(text);
  if (rc == CAPSID_ECORRUPT) {
    /* Never reuse or overwrite it: identities in it may still own files.
     * Keep it for a person to look at, and say where it went. */
    char why[512];
    snprintf(why, sizeof(why), "%s",
             err->message ? err->message : "corrupt");
    aside = capsid__sprintf("%s.corrupt-%ld", path, (long)time(NULL));
    if (aside != NULL && rename(path, aside) == 0)
      capsid__error_set(err, CAPSID_ECORRUPT, CAPSID_STAGE_CAPABILITY, 0,
                        aside, NULL,
                        "%s; the file was moved aside to %s -- run `capsid "
                        "setup` to start a new one",
                        why, aside);
    else
      capsid__error_set(err, CAPSID_ECORRUPT, CAPSID_STAGE_CAPABILITY, errno,
                        path, NULL, "%s; it could not be moved aside", why);
    capsid__free(aside);
  }
  capsid__free(path);
  return rc;
}


int capsid__capstore_save(const char* dir, const capsid__capstore_t* s,
                          capsid_error_t* err) {
  char* path = store_path(dir);
  char* text = capsid__capstore_format(s);
  int os_error = 0, rc = CAPSID_ENOMEM;

  if (path != NULL && text != NULL)
    rc = capsid__file_write_atomic(path, text, strlen(text), 0644, &os_error);
  if (rc != 0)
    capsid__error_set(err, rc, CAPSID_STAGE_CAPABILITY, os_error, path, NULL,
                      "cannot write the capability store");
  capsid__free(path);
  capsid__free(text);
  return rc;
}


static int lookup_or_add(capsid__capstore_t* s, capsid__cap_entry_t** v,
                         size_t* n, const char* path, uint32_t* id,
                         int* added) {
  size_t i;
  int rc;

  *added = 0;
  for (i = 0; i < *n; i++)
    if (strcmp((*v)[i].path, path) == 0) {
      *id = (*v)[i].id;
      return 0;
    }
  if (s->next >= s->first + s->count)
    return CAPSID_ERANGE;
  rc = add_entry(v, n, path, s->next);
  if (rc != 0)
    return rc;
  *id = s->next++;
  *added = 1;
  return 0;
}


int capsid__capstore_workspace(capsid__capstore_t* s, const char* path,
                               uint32_t* id, int* added) {
  return lookup_or_add(s, &s->workspaces, &s->n_workspaces, path, id, added);
}


int capsid__capstore_root(capsid__capstore_t* s, const char* path,
                          uint32_t* id, int* added) {
  return lookup_or_add(s, &s->roots, &s->n_roots, path, id, added);
}


int capsid__capstore_lock(const char* dir, intptr_t* lock,
                          capsid_error_t* err) {
  char* lock_path = capsid__sprintf("%s/capabilities.lock", dir);
  int rc, os_error = 0;

  if (lock_path == NULL)
    return CAPSID_ENOMEM;
  rc = capsid__file_lock(lock_path, lock, &os_error);
  if (rc != 0)
    capsid__error_set(err, rc, CAPSID_STAGE_CAPABILITY, os_error, lock_path,
                      NULL, "cannot lock the capability store");
  capsid__free(lock_path);
  return rc;
}


int capsid__capstore_ensure(const char* dir, const char* const* paths,
                            size_t n, uint32_t* ids,
                            capsid__capstore_t* store, capsid_error_t* err) {
  int rc, added, any = 0;
  intptr_t lock;
  size_t i;

  memset(store, 0, sizeof(*store));
  rc = capsid__capstore_lock(dir, &lock, err);
  if (rc != 0)
    return rc;
  rc = capsid__capstore_load(dir, store, err);
  for (i = 0; rc == 0 && i < n; i++) {
    rc = i == 0 ? capsid__capstore_workspace(store, paths[i], &ids[i], &added)
                : capsid__capstore_root(store, paths[i], &ids[i], &added);
    if (rc == CAPSID_ERANGE)
      capsid__error_set(err, rc, CAPSID_STAGE_CAPABILITY, 0, paths[i], NULL,
                        "the identity range is used up (%u ids): widen it "
                        "with `capsid setup`",
                        (unsigned)store->count);
    any |= added;
  }
  if (rc == 0 && any)
    rc = capsid__capstore_save(dir, store, err);
  capsid__file_unlock(lock);
  if (rc != 0)
    capsid__capstore_free(store);
  return rc;
}
