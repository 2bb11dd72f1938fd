#include "env.h"

#include "fault.h"

#include <string.h>

#include <uv.h>

static size_t name_len(const char* entry) {
  const char* eq = strchr(entry, '=');
  return eq ? (size_t)(eq - entry) : strlen(entry);
}


/* Index of the entry for the name that entry starts with, or -1. Names
 * compare as the OS compares them (capsid__env_name_eq), in place (no
 * scan for '=' per entry): every job's environment is built this way, so
 * it is on the spawn path. */
static long find(const capsid__strv_t* env, const char* name, size_t len) {
  const char* v;
  size_t i;

  for (i = 0; i < env->n; i++) {
    v = env->v[i];
    if (capsid__env_name_eq(v, name, len) &&
        (v[len] == '=' || v[len] == '\0'))
      return (long)i;
  }
  return -1;
}


/* "name=value" without printf's format machinery (a few times faster, and
 * there is one per inherited variable per job). */
static char* join(const char* name, const char* value) {
  size_t n = strlen(name), v = strlen(value);
  char* s = capsid__malloc(n + v + 2);

  if (s == NULL)
    return NULL;
  memcpy(s, name, n);
  s[n] = '=';
  memcpy(s + n + 1, value, v + 1);
  return s;
}


static int put(capsid__strv_t* env, char* entry) {
  long i;

  if (entry == NULL)
    return CAPSID_ENOMEM;
  i = find(env, entry, name_len(entry));
  if (i < 0)
    return capsid__strv_push_owned(env, entry);
  capsid__free(env->v[i]);
  env->v[i] = entry;
  return 0;
}


int capsid__env_set(capsid__strv_t* env, const char* name,
                    const char* value) {
  return put(env, join(name, value));
}


const char* capsid__env_get(const capsid__strv_t* env, const char* name) {
  long i = find(env, name, strlen(name));

  return i < 0 ? NULL : env->v[i] + strlen(name) + 1;
}


int capsid__env_build(capsid_env_mode_t mode, const char* const* vars,
                      capsid__strv_t* out, size_t* bad) {
  uv_env_item_t* items = NULL;
  int count = 0, i, rc = 0;
  size_t k;

  memset(out, 0, sizeof(*out));
  if (mode == CAPSID_ENV_INHERIT) {
    if (capsid__fault("environ") != 0 || uv_os_environ(&items, &count) != 0)
      return CAPSID_ENOMEM;
    for (i = 0; i < count && rc == 0; i++)
      rc = put(out, join(items[i].name, items[i].value));
    uv_os_free_environ(items, count);
  }
  for (k = 0; rc == 0 && vars != NULL && vars[k] != NULL; k++) {
    if (strchr(vars[k], '=') == NULL || vars[k][0] == '=') {
      if (bad != NULL)
        *bad = k;
      rc = CAPSID_EINVAL;
      break;
    }
    rc = put(out, capsid__strdup(vars[k]));
  }
  /* An empty environment is still a valid, NULL-terminated block. */
  if (rc == 0 && out->v == NULL) {
    out->v = capsid__calloc(1, sizeof(*out->v));
    out->cap = 1;
    if (out->v == NULL)
      rc = CAPSID_ENOMEM;
  }
  if (rc != 0)
    capsid__strv_free(out);
  return rc;
}
