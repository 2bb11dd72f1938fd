/* Batch-wide defaults: the options of `capsid run` given to `capsid
 * batch` become the JSON members every line has unless it sets them
 * itself. They are checked here, when the batch starts, so a bad value
 * is named by its option and not reported once per line. */
#include "batch.h"

#include <stdio.h>
#include <string.h>

static int bad(const char* option, const char* value, const char* what) {
  fprintf(stderr, "capsid batch: %s: \"%s\" is not %s\n", option, value,
          what);
  return -1;
}


static int append(json_t* defaults, const char* member, json_t* item) {
  json_t* list = json_object_get(defaults, member);

  if (list == NULL) {
    list = json_array();
    json_object_set_new(defaults, member, list);
  }
  return json_array_append_new(list, item);
}


static int add_env(json_t* defaults, const char* option, const char* value) {
  const char* eq = strchr(value, '=');
  json_t* env = json_object_get(defaults, "env");
  char* name;

  if (eq == NULL || eq == value)
    return bad(option, value, "of the form NAME=VALUE");
  if (env == NULL) {
    env = json_object();
    json_object_set_new(defaults, "env", env);
  }
  name = capsid__strndup(value, (size_t)(eq - value));
  if (name == NULL)
    return -1;
  json_object_set_new(env, name, json_string(eq + 1));
  capsid__free(name);
  return 0;
}


static int add_policy(json_t* defaults, const char* option,
                      const char* value) {
  json_error_t jerr;
  json_t* obj;

  if (value[0] != '{') {
    if (value[0] == '\0')
      return bad(option, value, "a policy (read-only, workspace-write or "
                 "a JSON object)");
    json_object_set_new(defaults, "policy", json_string(value));
    return 0;
  }
  obj = json_loads(value, JSON_REJECT_DUPLICATES, &jerr);
  if (obj == NULL || !json_is_object(obj)) {
    fprintf(stderr, "capsid batch: %s: not a valid JSON object: %s\n",
            option, obj == NULL ? jerr.text : "not an object");
    json_decref(obj);
    return -1;
  }
  json_object_set_new(defaults, "policy", obj);
  return 0;
}


int cli_batch_default(json_t* defaults, const char* option,
                      const char* member, const char* value) {
  uint64_t n;

  if (strcmp(member, "env") == 0)
    return add_env(defaults, option, value);
  if (strcmp(member, "policy") == 0)
    return add_policy(defaults, option, value);
  if (strcmp(member, "writable_roots") == 0 ||
      strcmp(member, "read_only_paths") == 0)
    return append(defaults, member, json_string(value)) == 0 ? 0 : -1;
  if (strcmp(member, "network") == 0)
    return json_object_set_new(defaults, member, json_true());
  if (strcmp(member, "timeout") == 0 &&
      capsid_parse_duration(value, &n) != 0)
    return bad(option, value, "a duration (examples: 500ms, 10s, 2m)");
  if (strcmp(member, "memory_limit") == 0 &&
      capsid_parse_size(value, &n) != 0)
    return bad(option, value, "a size (examples: 64M, 2G)");
  if (strcmp(member, "max_processes") == 0) {
    if (capsid__args_count(value, &n) != 0 || n > (1u << 22))
      return bad(option, value, "a number of processes");
    return json_object_set_new(defaults, member, json_integer((json_int_t)n));
  }
  if (strcmp(member, "mode") == 0 && strcmp(value, "auto") != 0 &&
      strcmp(value, "elevated") != 0 && strcmp(value, "unprivileged") != 0)
    return bad(option, value, "one of auto, elevated, unprivileged");
  if (strcmp(member, "cwd") == 0 && value[0] == '\0')
    return bad(option, value, "a directory");
  return json_object_set_new(defaults, member, json_string(value));
}


int cli_batch_apply_defaults(const json_t* defaults, const char* text,
                             size_t len, char** out, size_t* out_len) {
  const char* key;
  json_t* value;
  json_t* line;
  json_t* env;
  char* dumped;

  *out = NULL;
  *out_len = 0;
  if (defaults == NULL || json_object_size(defaults) == 0)
    return 0;
  line = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
  if (line == NULL || !json_is_object(line)) {
    json_decref(line);
    return 0;
  }
  json_object_foreach((json_t*)defaults, key, value) {
    /* One timeout, whichever way the line gives it. */
    if (strcmp(key, "timeout") == 0 &&
        json_object_get(line, "timeout_ms") != NULL)
      continue;
    env = json_object_get(line, key);
    if (strcmp(key, "env") == 0 && json_is_object(env)) {
      json_t* merged = json_deep_copy(value);
      json_object_update(merged, env);
      json_object_set_new(line, key, merged);
      continue;
    }
    if (env == NULL)
      json_object_set_new(line, key, json_deep_copy(value));
  }
  dumped = json_dumps(line, JSON_COMPACT);
  json_decref(line);
  if (dumped == NULL)
    return CAPSID_ENOMEM;
  *out_len = strlen(dumped);
  *out = capsid__strndup(dumped, *out_len);
  free(dumped);
  return *out != NULL ? 0 : CAPSID_ENOMEM;
}
