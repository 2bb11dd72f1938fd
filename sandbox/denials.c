/* Denial reports. An agent whose write fails with "Read-only file system"
 * learns nothing about why; the result says which rule of its policy
 * refused which path.
 *
 * The kernel mostly does not tell capsid which of a job's calls it
 * refused: the read-only mounts, the deny_read covers and file modes
 * answer the job, not capsid. Landlock does, where it is what refuses
 * (landlock-only mode, chiefly) and the host lets capsid read its audit
 * records (sandbox/linux/kdenials-linux.c): those are added, marked
 * "source":"kernel". What capsid always sees is the job's
 * stderr, where nearly every tool prints the refused path beside the
 * error text, as Codex's own denial detection reads it. So each such line
 * is matched to the policy: a path the policy denies, protects or leaves
 * outside the writable roots is reported with that rule; any other
 * refusal (a file's own mode) is not the sandbox's and is not listed. */
#include "denials.h"

#include "denyread.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const struct {
  const char* text;
  const char* op; /* what the error means the job tried */
} errors[] = {{"Read-only file system", "write"},
              {"Permission denied", "open"},
              {"Operation not permitted", "open"}};


static json_t* strv_json(const capsid__strv_t* sv) {
  json_t* a = json_array();
  size_t i;

  for (i = 0; a != NULL && i < sv->n; i++)
    json_array_append_new(a, json_string(sv->v[i]));
  return a;
}


static int cmp_str(const void* a, const void* b) {
  return strcmp(*(const char* const*)a, *(const char* const*)b);
}


/* Every path the job could not change: the protected paths that exist
 * and the missing ones it ran with placeholders for, sorted. Whether
 * .git exists when a job starts depends on its neighbours (a placeholder
 * another job of the workspace holds looks like an existing directory),
 * so the report names both kinds as one list: the same policy gives the
 * same list, whichever job ran first. */
static json_t* protected_json(const capsid__sandbox_t* sb) {
  size_t n = sb->protected_paths.n + sb->missing_protected.n, i, k = 0;
  const char** v = capsid__malloc((n ? n : 1) * sizeof(*v));
  json_t* a = json_array();

  if (v == NULL || a == NULL) {
    capsid__free(v);
    json_decref(a);
    return NULL;
  }
  for (i = 0; i < sb->protected_paths.n; i++)
    v[k++] = sb->protected_paths.v[i];
  for (i = 0; i < sb->missing_protected.n; i++)
    v[k++] = sb->missing_protected.v[i];
  qsort(v, n, sizeof(*v), cmp_str);
  for (i = 0; i < n; i++)
    if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
      json_array_append_new(a, json_string(v[i]));
  capsid__free(v);
  return a;
}


/* json_dumps allocates with malloc: hand out capsid's allocator's copy. */
static char* dump(json_t* j) {
  char* text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
  char* out = text != NULL ? capsid__strdup(text) : NULL;

  free(text);
  json_decref(j);
  return out;
}


char* capsid__sandbox_json(const capsid__sandbox_t* sb) {
  json_t* o = json_object();

  if (o == NULL)
    return NULL;
  json_object_set_new(o, "policy",
                      json_string(sb->kind == CAPSID__POLICY_READ_ONLY
                                      ? "read-only"
                                      : "workspace-write"));
  json_object_set_new(o, "writable_roots", strv_json(&sb->writable));
  json_object_set_new(o, "protected_paths", protected_json(sb));
  json_object_set_new(o, "deny_read", strv_json(&sb->deny_read));
  json_object_set_new(o, "network", json_boolean(sb->network));
  return dump(o);
}


/* The rule of sb that refuses path, or NULL for none. */
static const char* rule_of(const capsid__sandbox_t* sb, const char* path,
                           const char** op) {
  if (capsid__path_within_any(&sb->deny_read, path)) {
    *op = "read";
    return "deny_read";
  }
  if (capsid__path_within_any(&sb->protected_paths, path) ||
      capsid__path_within_any(&sb->missing_protected, path))
    return "protected";
  if (capsid__sandbox_root_of(sb, path, 0) == NULL)
    return sb->kind == CAPSID__POLICY_READ_ONLY ? "read-only policy"
                                                : "outside writable roots";
  return NULL;
}


/* The path a message names just before the error text (pos): quoted
 * ('p', "p", or ‘p’ as coreutils print it in a UTF-8 locale), else the
 * last word; after it as Python prints it ("...: '/p'"). Returns its
 * length and start, or 0. */
static size_t path_before(const char* line, const char* pos,
                          const char** start) {
  const char* end = pos;
  const char* s;

  /* "tool: PATH: error": anything else ("[Errno 13] error: 'PATH'")
   * names no path before the error. */
  if (end - line < 3 || end[-1] != ' ' || end[-2] != ':')
    return 0;
  end -= 2;
  if (end - line >= 3 && memcmp(end - 3, "\xE2\x80\x99", 3) == 0) {
    for (s = end - 3; s - line >= 3; s--)
      if (memcmp(s - 3, "\xE2\x80\x98", 3) == 0) {
        *start = s;
        return (size_t)(end - 3 - s);
      }
    return 0;
  }
  if (end > line && (end[-1] == '\'' || end[-1] == '"')) {
    for (s = end - 2; s >= line; s--)
      if (*s == end[-1]) {
        *start = s + 1;
        return (size_t)(end - 1 - *start);
      }
    return 0;
  }
  for (s = end; s > line && s[-1] != ' ' && s[-1] != '\t'; s--)
    ;
  *start = s;
  return (size_t)(end - s);
}


static size_t path_after(const char* pos, const char* eol,
                         const char** start) {
  const char* s = pos;
  const char* q;

  if (eol - s < 4 || s[0] != ':' || s[1] != ' ' ||
      (s[2] != '\'' && s[2] != '"'))
    return 0;
  q = memchr(s + 3, s[2], (size_t)(eol - s - 3));
  if (q == NULL)
    return 0;
  *start = s + 3;
  return (size_t)(q - *start);
}


static const char* find(const char* s, size_t n, const char* needle) {
  size_t k = strlen(needle), i;

  for (i = 0; i + k <= n; i++)
    if (memcmp(s + i, needle, k) == 0)
      return s + i;
  return NULL;
}


/* Is path listed already? */
static int listed(json_t* list, const char* path) {
  json_t* d;
  size_t i;

  json_array_foreach(list, i, d)
    if (strcmp(json_string_value(json_object_get(d, "path")), path) == 0)
      return 1;
  return 0;
}


static void append(json_t* list, const char* op, const char* path,
                   const char* rule, const char* source) {
  json_t* d;

  if (json_array_size(list) >= CAPSID__DENIALS_MAX)
    return;
  d = json_object();
  json_object_set_new(d, "op", json_string(op));
  json_object_set_new(d, "path", json_string(path));
  json_object_set_new(d, "rule", json_string(rule));
  if (source != NULL)
    json_object_set_new(d, "source", json_string(source));
  json_array_append_new(list, d);
}


/* One refused path: made absolute against the cwd, classified, listed
 * once. */
static void add(json_t* list, const capsid__sandbox_t* sb, const char* p,
                size_t n, const char* op) {
  char* path;
  const char* rule;

  if (n == 0 || memchr(p, '\0', n) != NULL)
    return;
  while (n > 2 && p[0] == '.' && p[1] == '/')
    p += 2, n -= 2;
  path = capsid__strndup(p, n);
  if (path != NULL && !capsid__path_is_absolute(path)) {
    char* joined = capsid__sprintf("%s/%s", sb->cwd, path);

    capsid__free(path);
    path = joined;
  }
  if (path == NULL)
    return;
  rule = rule_of(sb, path, &op);
  if (rule != NULL && !listed(list, path))
    append(list, op, path, rule, NULL);
  capsid__free(path);
}


void capsid__kdenials_free(capsid__kdenial_t* v, size_t n) {
  size_t i;

  for (i = 0; v != NULL && i < n; i++)
    capsid__free(v[i].path);
  capsid__free(v);
}


/* What the kernel reported: every one is the sandbox's doing (Landlock
 * refused it), so a path no rule of the policy names is listed too. */
static void add_kernel(json_t* list, const capsid__sandbox_t* sb) {
  capsid__kdenial_t* v;
  const char* rule;
  const char* op;
  size_t n = capsid__kdenials_take(sb, &v), i;

  for (i = 0; i < n; i++) {
    op = v[i].op;
    rule = strncmp(v[i].path, "tcp:", 4) == 0 ? "network"
                                               : rule_of(sb, v[i].path, &op);
    if (!listed(list, v[i].path))
      append(list, op, v[i].path, rule != NULL ? rule : "landlock",
             "kernel");
  }
  capsid__kdenials_free(v, n);
}


char* capsid__denials_json(const capsid__sandbox_t* sb, const char* text,
                           size_t len) {
  json_t* list = json_array();
  const char* line = text;
  const char* end = text + len;
  const char* eol;
  const char* pos;
  const char* p;
  size_t i, n;

  while (list != NULL && text != NULL && line < end) {
    eol = memchr(line, '\n', (size_t)(end - line));
    if (eol == NULL)
      eol = end;
    for (i = 0; i < CAPSID__ARRAY_SIZE(errors); i++) {
      pos = find(line, (size_t)(eol - line), errors[i].text);
      if (pos == NULL)
        continue;
      p = NULL;
      n = path_before(line, pos, &p);
      if (n == 0)
        n = path_after(pos + strlen(errors[i].text), eol, &p);
      add(list, sb, p, n, errors[i].op);
    }
    line = eol + 1;
  }
  if (list != NULL)
    add_kernel(list, sb);
  return dump(list);
}
