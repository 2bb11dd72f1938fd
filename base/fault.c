#include "fault.h"

#ifdef CAPSID_FAULT_INJECTION

#include "capsid-common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

typedef struct {
  char site[32];
  long nth;
  long seen;
  int error;
} rule_t;

static rule_t rules[16];
static int n_rules;
static int loaded;
static uv_mutex_t lock;
static uv_once_t once = UV_ONCE_INIT;


static void init_lock(void) {
  uv_mutex_init(&lock);
}


static int errno_named(const char* name) {
  static const struct {
    const char* name;
    int value;
  } names[] = {{"ENOSPC", ENOSPC}, {"EACCES", EACCES}, {"EMFILE", EMFILE},
               {"EINTR", EINTR},   {"EAGAIN", EAGAIN}, {"ENOMEM", ENOMEM},
               {"EPERM", EPERM},   {"EIO", EIO},       {"ENOENT", ENOENT}};
  size_t i;

  for (i = 0; i < CAPSID__ARRAY_SIZE(names); i++)
    if (strcmp(names[i].name, name) == 0)
      return names[i].value;
  return atoi(name);
}


/* "site=N:ERRNO,site=N:ERRNO". Malformed entries are ignored: this is a
 * test hook, and a test that mistypes one sees its fault not happen. */
static void parse(const char* spec) {
  char buf[512];
  char* save = NULL;
  char* item;
  char* eq;
  char* colon;

  n_rules = 0;
  if (spec == NULL)
    return;
  snprintf(buf, sizeof(buf), "%s", spec);
  for (item = strtok_r(buf, ",", &save); item && n_rules < 16;
       item = strtok_r(NULL, ",", &save)) {
    eq = strchr(item, '=');
    colon = eq ? strchr(eq, ':') : NULL;
    if (eq == NULL || colon == NULL)
      continue;
    *eq = '\0';
    *colon = '\0';
    snprintf(rules[n_rules].site, sizeof(rules[n_rules].site), "%s", item);
    rules[n_rules].nth = atol(eq + 1);
    rules[n_rules].seen = 0;
    rules[n_rules].error = errno_named(colon + 1);
    n_rules++;
  }
}


int capsid__fault_set(const char* spec) {
  uv_once(&once, init_lock);
  uv_mutex_lock(&lock);
  parse(spec);
  loaded = 1;
  uv_mutex_unlock(&lock);
  return 0;
}


int capsid__fault(const char* site) {
  int i, error = 0;

  uv_once(&once, init_lock);
  uv_mutex_lock(&lock);
  if (!loaded) {
    parse(getenv("CAPSID_FAULTS"));
    loaded = 1;
  }
  for (i = 0; i < n_rules; i++)
    if (strcmp(rules[i].site, site) == 0 &&
        (rules[i].nth == 0 || ++rules[i].seen == rules[i].nth))
      error = rules[i].error;
  uv_mutex_unlock(&lock);
  return error;
}

#else
/* ISO C forbids an empty translation unit. */
typedef int capsid__fault_unused_t;
#endif
