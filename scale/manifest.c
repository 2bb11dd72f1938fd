/* Batch manifests (manifest.h). */
#include "manifest.h"

#include "capsid-common.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>


int scale_manifest_write_header(FILE* f, const char* batch,
                                const char* stream) {
  json_t* o = json_pack("{s:i, s:s, s:s}", "capsid_manifest", 1, "batch",
                        batch, "stream", stream);
  int rc = o != NULL && json_dumpf(o, f, JSON_COMPACT) == 0 &&
                   fputc('\n', f) != EOF
               ? 0
               : -1;

  json_decref(o);
  return rc;
}


int scale_manifest_write_line(FILE* f, long line, const char* text,
                              size_t len, int fate, const char* what) {
  json_t* job = json_loadb(text, len, 0, NULL);
  json_t* id = json_object_get(job, "id");
  json_t* o = json_object();
  int rc;

  json_object_set_new(o, "line", json_integer(line));
  json_object_set(o, "id", json_is_string(id) || json_is_integer(id)
                               ? id : json_null());
  switch (fate) {
  case SCALE_MANIFEST_ADDED:
    json_object_set_new(o, "entry", json_string(what ? what : ""));
    break;
  case SCALE_MANIFEST_SKIPPED:
    json_object_set_new(o, "skipped", json_string(what ? what : ""));
    break;
  case SCALE_MANIFEST_REFUSED:
    json_object_set_new(o, "refused", json_string(what ? what : ""));
    break;
  default:
    json_object_set_new(o, "unconfirmed", json_true());
  }
  rc = json_dumpf(o, f, JSON_COMPACT) == 0 && fputc('\n', f) != EOF ? 0
                                                                    : -1;
  json_decref(o);
  json_decref(job);
  return rc;
}


static int by_line(const void* a, const void* b) {
  long x = ((const scale_manifest_line_t*)a)->line;
  long y = ((const scale_manifest_line_t*)b)->line;

  return x < y ? -1 : x > y;
}


/* One line of the file into m (the header when it is the first). */
static int take(scale_manifest_t* m, json_t* o, long number, size_t* cap,
                const char* path, char* err, size_t err_size) {
  scale_manifest_line_t* l;
  json_t* id;

  if (m->batch == NULL) {
    const char* batch = json_string_value(json_object_get(o, "batch"));
    const char* stream = json_string_value(json_object_get(o, "stream"));
    if (json_integer_value(json_object_get(o, "capsid_manifest")) != 1 ||
        batch == NULL || stream == NULL) {
      snprintf(err, err_size, "--manifest: %s is not a manifest of capsid "
               "submit (line 1)", path);
      return CAPSID_EINVAL;
    }
    m->batch = capsid__strdup(batch);
    m->stream = capsid__strdup(stream);
    return m->batch && m->stream ? 0 : CAPSID_ENOMEM;
  }
  if (!json_is_integer(json_object_get(o, "line")) ||
      json_integer_value(json_object_get(o, "line")) < 1) {
    snprintf(err, err_size, "--manifest: %s line %ld: no \"line\" number",
             path, number);
    return CAPSID_EINVAL;
  }
  if (m->n == *cap) {
    size_t ncap = *cap ? *cap * 2 : 256;
    scale_manifest_line_t* nl =
        capsid__realloc(m->lines, ncap * sizeof(*nl));
    if (nl == NULL)
      return CAPSID_ENOMEM;
    m->lines = nl;
    *cap = ncap;
  }
  l = &m->lines[m->n++];
  memset(l, 0, sizeof(*l));
  l->line = (long)json_integer_value(json_object_get(o, "line"));
  l->skipped = json_object_get(o, "skipped") != NULL;
  id = json_object_get(o, "id");
  if (id != NULL && !json_is_null(id) &&
      (l->id = json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT)) == NULL)
    return CAPSID_ENOMEM;
  return 0;
}


int scale_manifest_load(const char* path, scale_manifest_t* m, char* err,
                        size_t err_size) {
  FILE* f = fopen(path, "r");
  char* buf = NULL;
  size_t size = 0, cap = 0;
  ssize_t len;
  long number = 0;
  int rc = 0;

  memset(m, 0, sizeof(*m));
  if (f == NULL) {
    snprintf(err, err_size, "--manifest: cannot open %s: %s", path,
             strerror(errno));
    return CAPSID_EIO;
  }
  while (rc == 0 && (len = getline(&buf, &size, f)) >= 0) {
    json_t* o;
    number++;
    if (len <= 1)
      continue;
    o = json_loadb(buf, (size_t)len, 0, NULL);
    if (!json_is_object(o)) {
      snprintf(err, err_size, "--manifest: %s line %ld is not a JSON "
               "object", path, number);
      rc = CAPSID_EINVAL;
    } else {
      rc = take(m, o, number, &cap, path, err, err_size);
    }
    json_decref(o);
  }
  free(buf);
  fclose(f);
  if (rc == 0 && m->batch == NULL) {
    snprintf(err, err_size, "--manifest: %s is empty", path);
    rc = CAPSID_EINVAL;
  }
  if (rc == CAPSID_ENOMEM)
    snprintf(err, err_size, "out of memory");
  if (rc != 0) {
    scale_manifest_free(m);
    return rc;
  }
  qsort(m->lines, m->n, sizeof(*m->lines), by_line);
  return 0;
}


void scale_manifest_free(scale_manifest_t* m) {
  size_t i;

  for (i = 0; i < m->n; i++)
    free(m->lines[i].id); /* jansson's */
  capsid__free(m->lines);
  capsid__free(m->batch);
  capsid__free(m->stream);
  memset(m, 0, sizeof(*m));
}


scale_manifest_line_t* scale_manifest_find(const scale_manifest_t* m,
                                           long line) {
  size_t lo = 0, hi = m->n;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (m->lines[mid].line == line)
      return &m->lines[mid];
    if (m->lines[mid].line < line)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}


long scale_manifest_expected(const scale_manifest_t* m) {
  long n = 0;
  size_t i;

  for (i = 0; i < m->n; i++)
    n += !m->lines[i].skipped;
  return n;
}


long scale_manifest_missing(const scale_manifest_t* m) {
  long n = 0;
  size_t i;

  for (i = 0; i < m->n; i++)
    n += !m->lines[i].skipped && !m->lines[i].got;
  return n;
}
