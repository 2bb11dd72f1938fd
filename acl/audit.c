/* The world-writable audit: a time-boxed look at the places a job can
 * reach, for directories and files that "other" or a group the job holds
 * may write, outside the writable roots. What it finds becomes the plan's
 * deny mirrors; the scan itself only reads. */
#include "acl-int.h"
#include "audit-scan.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct scan_s {
  const capsid__acl_audit_opts_t* o;
  capsid__acl_audit_t* out;
  uint64_t deadline_ns;
  const char* dir;
  int rc;
} scan_t;


int capsid__acl_audit_in_roots(const capsid__acl_audit_opts_t* o,
                               const char* path) {
  const char* const* p;

  for (p = o->writable; p != NULL && *p != NULL; p++)
    if (capsid__path_is_within(path, *p))
      return 1;
  return 0;
}


static int add_finding(capsid__acl_audit_t* a, char* path, int is_dir,
                       const char* why) {
  size_t i;
  int rc;

  if (path == NULL)
    return CAPSID_ENOMEM;
  for (i = 0; i < a->n; i++)
    if (strcmp(a->v[i].path, path) == 0)
      break;
  rc = i < a->n ? 0 : capsid__acl_audit_add(a, path, is_dir, why);
  capsid__free(path);
  return rc;
}


static int on_entry(void* arg, const char* name, int type);


/* One directory: its own entry (by its parent) is checked by the caller;
 * here every child is. */
static int scan_dir(scan_t* s, const char* path) {
  capsid__acl_dir_t d;
  int rc, os_error = 0;
  const char* saved = s->dir;

  if (capsid__hrtime() > s->deadline_ns) {
    s->out->timed_out = 1;
    return 0;
  }
  rc = capsid__acl_fs_open_root(path, &d, NULL, &os_error);
  if (rc != 0)
    return 0; /* unreadable or gone: nothing a job can use either */
  s->dir = path;
  rc = capsid__acl_fs_list(d, on_entry, s, &os_error);
  (void)rc;
  s->dir = saved;
  /* on_entry needs the fd: it is passed through the scan struct. */
  capsid__acl_fs_close(d);
  return s->rc;
}




static int check_path(scan_t* s, const char* path) {
  char* parent;
  char* slash;
  capsid__acl_dir_t d;
  const char* why;
  int is_dir = 0, os_error = 0;

  s->out->scanned++;
  if (strcmp(path, "/") == 0 || capsid__acl_audit_in_roots(s->o, path))
    return 0;
  parent = capsid__strdup(path);
  if (parent == NULL)
    return CAPSID_ENOMEM;
  slash = strrchr(parent, '/');
  *slash = '\0';
  if (capsid__acl_fs_open_root(parent[0] ? parent : "/", &d, NULL,
                               &os_error) != 0) {
    capsid__free(parent);
    return 0;
  }
  why = capsid__acl_fs_audit_entry(d, slash + 1, s->o->gids, s->o->n_gids,
                                   &is_dir);
  capsid__acl_fs_close(d);
  capsid__free(parent);
  if (why == NULL)
    return 0;
  return add_finding(s->out, capsid__strdup(path), is_dir, why);
}


static int on_entry(void* arg, const char* name, int type) {
  scan_t* s = arg;
  char* path;
  int rc;

  (void)type;
  if (capsid__hrtime() > s->deadline_ns) {
    s->out->timed_out = 1;
    return 1;
  }
  path = capsid__sprintf("%s%s%s", s->dir,
                         strcmp(s->dir, "/") == 0 ? "" : "/", name);
  if (path == NULL)
    return s->rc = CAPSID_ENOMEM;
  rc = check_path(s, path);
  capsid__free(path);
  if (rc != 0)
    s->rc = rc;
  return rc;
}


/* The places a job can reach, each scanned one level deep. */
int capsid__acl_audit_places(const capsid__acl_audit_opts_t* o,
                             capsid__strv_t* out) {
  const char* env[] = {"TMPDIR", "HOME", NULL};
  const char* v;
  char* copy;
  char* save = NULL;
  char* p;
  int rc = 0, i;

  if (o->workspace != NULL)
    rc |= capsid__strv_push(out, o->workspace);
  rc |= capsid__strv_push(out, "/tmp");
  rc |= capsid__strv_push(out, "/var/tmp");
  for (i = 0; env[i] != NULL; i++)
    if ((v = getenv(env[i])) != NULL && v[0] == '/' &&
        !capsid__strv_contains(out, v))
      rc |= capsid__strv_push(out, v);
  v = getenv("PATH");
  if (v != NULL && (copy = capsid__strdup(v)) != NULL) {
    for (p = strtok_r(copy, ":", &save); p != NULL;
         p = strtok_r(NULL, ":", &save))
      if (p[0] == '/' && !capsid__strv_contains(out, p))
        rc |= capsid__strv_push(out, p);
    capsid__free(copy);
  }
  if (!capsid__strv_contains(out, "/"))
    rc |= capsid__strv_push(out, "/");
  if (!capsid__strv_contains(out, "/usr"))
    rc |= capsid__strv_push(out, "/usr");
  return rc != 0 ? CAPSID_ENOMEM : 0;
}


int capsid__acl_audit(const capsid__acl_audit_opts_t* o,
                      capsid__acl_audit_t* out) {
  capsid__strv_t places = {0};
  const char* const* dirs;
  uint64_t start = capsid__hrtime();
  scan_t s;
  size_t i;
  int rc = 0;

  memset(out, 0, sizeof(*out));
  memset(&s, 0, sizeof(s));
  s.o = o;
  s.out = out;
  s.deadline_ns =
      start + (o->budget_ms ? o->budget_ms : 2000) * (uint64_t)1000000;
  if (o->dirs == NULL) {
    rc = capsid__acl_audit_places(o, &places);
    dirs = (const char* const*)places.v;
  } else {
    dirs = o->dirs;
  }
  for (i = 0; rc == 0 && dirs != NULL && dirs[i] != NULL; i++) {
    uint64_t t = capsid__hrtime();
    char what[64];
    /* The place itself, then what is directly in it. */
    rc = check_path(&s, dirs[i]);
    if (rc == 0)
      rc = scan_dir(&s, dirs[i]);
    snprintf(what, sizeof(what), "audit %.54s", dirs[i]);
    capsid__log_stage(what, t, rc);
    if (out->timed_out)
      break;
  }
  capsid__strv_free(&places);
  out->elapsed_ms = (double)(capsid__hrtime() - start) / 1e6;
  return rc;
}


void capsid__acl_audit_free(capsid__acl_audit_t* a) {
  size_t i;

  if (a == NULL)
    return;
  for (i = 0; i < a->n; i++)
    capsid__free(a->v[i].path);
  capsid__free(a->v);
  memset(a, 0, sizeof(*a));
}
