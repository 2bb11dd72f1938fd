#include "jobline.h"

#include "job-submit.h"
#include "json-util.h"

#include <string.h>

static const char* const known_fields[] = {
    "id",         "argv",          "cwd",          "policy",
    "writable_roots", "read_only_paths", "network", "env",
    "env_mode",   "stdin",         "timeout_ms",   "timeout",
    "memory_limit", "max_processes", "output_limit", "mode",
    "cpu_limit", NULL};


static int spec_error(capsid_error_t* err, const char* field,
                      const char* what, const json_t* v) {
  return capsid__error_set(err, CAPSID_ESPEC, CAPSID_STAGE_SPEC, 0, NULL,
                           field, "\"%s\" must be %s, not %s", field, what,
                           capsid__json_type_word(v));
}


static int get_string(json_t* obj, const char* key, char** out,
                      capsid_error_t* err) {
  json_t* v = json_object_get(obj, key);

  if (v == NULL || json_is_null(v))
    return 0;
  if (!json_is_string(v))
    return spec_error(err, key, "a string", v);
  *out = capsid__strdup(json_string_value(v));
  return *out ? 0 : CAPSID_ENOMEM;
}


/* A size given as "64M" or as a number of bytes. */
static int get_size(json_t* obj, const char* key, uint64_t* out,
                    capsid_error_t* err) {
  json_t* v = json_object_get(obj, key);

  if (v == NULL || json_is_null(v))
    return 0;
  if (json_is_integer(v) && json_integer_value(v) >= 0) {
    *out = (uint64_t)json_integer_value(v);
    return 0;
  }
  if (json_is_string(v) && capsid_parse_size(json_string_value(v), out) == 0)
    return 0;
  return capsid__error_set(err, CAPSID_ESPEC, CAPSID_STAGE_SPEC, 0, NULL, key,
                           "\"%s\" must be a size such as \"64M\" or a "
                           "non-negative number of bytes",
                           key);
}


static int get_count(json_t* obj, const char* key, uint64_t max,
                     uint64_t* out, capsid_error_t* err) {
  json_t* v = json_object_get(obj, key);

  if (v == NULL || json_is_null(v))
    return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0 ||
      (uint64_t)json_integer_value(v) > max)
    return capsid__error_set(err, CAPSID_ESPEC, CAPSID_STAGE_SPEC, 0, NULL,
                             key, "\"%s\" must be an integer from 0 to %llu",
                             key, (unsigned long long)max);
  *out = (uint64_t)json_integer_value(v);
  return 0;
}


static int get_env(json_t* obj, scale_jobline_t* jl, capsid_error_t* err) {
  json_t* v = json_object_get(obj, "env");
  const char* key;
  json_t* value;
  char field[300];

  if (v == NULL || json_is_null(v))
    return 0;
  if (!json_is_object(v))
    return spec_error(err, "env", "an object of strings", v);
  json_object_foreach(v, key, value) {
    snprintf(field, sizeof(field), "env.%s", key);
    if (!json_is_string(value))
      return spec_error(err, field, "a string", value);
    if (key[0] == '\0' || strchr(key, '=') != NULL)
      return capsid__error_set(err, CAPSID_ESPEC, CAPSID_STAGE_SPEC, 0, NULL,
                               field, "\"%s\": a variable name must be "
                               "non-empty and contain no '='",
                               field);
    if (capsid__strv_push_owned(&jl->env,
                                capsid__sprintf("%s=%s", key,
                                                json_string_value(value))))
      return CAPSID_ENOMEM;
  }
  return 0;
}


static int parse_fields(json_t* obj, scale_jobline_t* jl, capsid_error_t* err) {
  capsid_job_spec_t* s = &jl->spec;
  json_t* v;
  uint64_t n;
  char* text = NULL;
  int rc;

  rc = capsid__json_check_fields(obj, known_fields, "", CAPSID_ESPEC,
                                 CAPSID_STAGE_SPEC, err);
  if (rc != 0)
    return rc;

  v = json_object_get(obj, "argv");
  if (v == NULL)
    return capsid__error_set(err, CAPSID_ESPEC, CAPSID_STAGE_SPEC, 0, NULL,
                             "argv", "\"argv\" is required: the program "
                             "and its arguments, as an array of strings");
  if (!json_is_array(v) || json_array_size(v) == 0)
    return capsid__error_set(err, CAPSID_ESPEC, CAPSID_STAGE_SPEC, 0, NULL,
                             "argv", "\"argv\" must be a non-empty array of "
                             "strings");
  {
    size_t i;
    json_t* item;
    char field[32];
    json_array_foreach(v, i, item) {
      snprintf(field, sizeof(field), "argv[%zu]", i);
      if (!json_is_string(item))
        return spec_error(err, field, "a string", item);
      if (i == 0 && json_string_length(item) == 0)
        return capsid__error_set(err, CAPSID_ESPEC, CAPSID_STAGE_SPEC, 0,
                                 NULL, field, "\"argv[0]\" must name a "
                                 "program");
      if (capsid__strv_push(&jl->argv, json_string_value(item)) != 0)
        return CAPSID_ENOMEM;
    }
  }

  if ((rc = get_string(obj, "cwd", &jl->cwd, err)) != 0)
    return rc;
  /* Parsed here, once: an object is not written back to text for the
   * runtime to parse again. */
  v = json_object_get(obj, "policy");
  if (v != NULL && !json_is_null(v)) {
    if (!json_is_string(v) && !json_is_object(v))
      return spec_error(err, "policy", "a preset name or an object", v);
    rc = capsid__policy_from_json(v, &jl->policy, &jl->policy_error);
  } else {
    rc = capsid__policy_parse(NULL, &jl->policy, &jl->policy_error);
  }
  if (rc == CAPSID_ENOMEM)
    return rc;
  rc = capsid__json_get_strv(obj, "writable_roots", "writable_roots",
                             CAPSID_ESPEC, CAPSID_STAGE_SPEC,
                             &jl->writable_roots, err);
  if (rc == 0)
    rc = capsid__json_get_strv(obj, "read_only_paths", "read_only_paths",
                               CAPSID_ESPEC, CAPSID_STAGE_SPEC,
                               &jl->read_only_paths, err);
  if (rc != 0)
    return rc;
  s->network = -1;
  v = json_object_get(obj, "network");
  if (v != NULL && !json_is_null(v)) {
    if (!json_is_boolean(v))
      return spec_error(err, "network", "true or false", v);
    s->network = json_is_true(v);
  }
  if ((rc = get_env(obj, jl, err)) != 0)
    return rc;
  if ((rc = get_string(obj, "env_mode", &text, err)) != 0)
    return rc;
  if (text != NULL) {
    if (strcmp(text, "inherit") == 0)
      s->env_mode = CAPSID_ENV_INHERIT;
    else if (strcmp(text, "replace") == 0)
      s->env_mode = CAPSID_ENV_REPLACE;
    else
      rc = capsid__error_set(err, CAPSID_ESPEC, CAPSID_STAGE_SPEC, 0, NULL,
                             "env_mode", "\"env_mode\" must be \"inherit\" "
                             "or \"replace\", not \"%s\"", text);
    capsid__free(text);
    text = NULL;
    if (rc != 0)
      return rc;
  }
  v = json_object_get(obj, "stdin");
  if (v != NULL && !json_is_null(v)) {
    if (!json_is_string(v))
      return spec_error(err, "stdin", "a string", v);
    jl->stdin_len = json_string_length(v);
    jl->stdin_data = capsid__strndup(json_string_value(v), jl->stdin_len);
    if (jl->stdin_data == NULL)
      return CAPSID_ENOMEM;
  }
  if ((rc = get_count(obj, "timeout_ms", UINT32_MAX * 1000ull, &s->timeout_ms,
                      err)) != 0)
    return rc;
  v = json_object_get(obj, "timeout");
  if (v != NULL && !json_is_null(v)) {
    if (!json_is_string(v) ||
        capsid_parse_duration(json_string_value(v), &s->timeout_ms) != 0)
      return capsid__error_set(err, CAPSID_ESPEC, CAPSID_STAGE_SPEC, 0, NULL,
                               "timeout", "\"timeout\" must be a duration "
                               "such as \"500ms\", \"10s\" or \"2m\"");
  }
  if ((rc = get_size(obj, "memory_limit", &s->memory_limit, err)) != 0)
    return rc;
  if ((rc = get_size(obj, "output_limit", &s->output_limit, err)) != 0)
    return rc;
  n = 0;
  if ((rc = get_count(obj, "max_processes", 1u << 22, &n, err)) != 0)
    return rc;
  s->max_processes = (uint32_t)n;
  v = json_object_get(obj, "cpu_limit");
  if (v != NULL && !json_is_null(v)) {
    if (!json_is_number(v) || !(json_number_value(v) > 0) ||
        json_number_value(v) > 4096)
      return capsid__error_set(err, CAPSID_ESPEC, CAPSID_STAGE_SPEC, 0, NULL,
                               "cpu_limit", "\"cpu_limit\" must be a "
                               "positive number of CPUs such as 0.5 or 2");
    s->cpu_limit = json_number_value(v);
  }
  if ((rc = get_string(obj, "mode", &text, err)) != 0)
    return rc;
  if (text != NULL) {
    if (strcmp(text, "auto") == 0)
      s->mode = CAPSID_MODE_AUTO;
    else if (strcmp(text, "elevated") == 0)
      s->mode = CAPSID_MODE_ELEVATED;
    else if (strcmp(text, "unprivileged") == 0)
      s->mode = CAPSID_MODE_UNPRIVILEGED;
    else
      rc = capsid__error_set(err, CAPSID_ESPEC, CAPSID_STAGE_SPEC, 0, NULL,
                             "mode", "\"mode\" must be \"auto\", "
                             "\"elevated\" or \"unprivileged\", not \"%s\"",
                             text);
    capsid__free(text);
  }
  return rc;
}


int scale_jobline_parse(const char* text, size_t len, long line,
                      scale_jobline_t* jl, capsid_error_t* err) {
  json_error_t jerr;
  json_t* obj;
  json_t* id;
  int rc;

  memset(jl, 0, sizeof(*jl));
  jl->line = line;
  obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (obj == NULL)
    return capsid__error_set(err, CAPSID_EJSON, CAPSID_STAGE_SPEC, 0, NULL,
                             NULL, "line %ld is not valid JSON: %s (column "
                             "%d)",
                             line, jerr.text, jerr.column);
  if (!json_is_object(obj)) {
    rc = capsid__error_set(err, CAPSID_ESPEC, CAPSID_STAGE_SPEC, 0, NULL,
                           NULL, "line %ld must be a JSON object, not %s",
                           line, capsid__json_type_word(obj));
    json_decref(obj);
    return rc;
  }
  id = json_object_get(obj, "id");
  if (id != NULL && (json_is_string(id) || json_is_integer(id)))
    jl->id = json_incref(id);
  rc = parse_fields(obj, jl, err);
  if (rc == 0 && id != NULL && jl->id == NULL)
    rc = spec_error(err, "id", "a string or an integer", id);
  json_decref(obj);
  if (rc == CAPSID_ENOMEM && err->code == 0)
    capsid__error_set(err, rc, CAPSID_STAGE_SPEC, 0, NULL, NULL, NULL);
  if (rc != 0)
    return rc;

  jl->spec.size = sizeof(jl->spec);
  jl->spec.argv = (const char* const*)jl->argv.v;
  jl->spec.env = (const char* const*)jl->env.v;
  jl->spec.cwd = jl->cwd;
  jl->spec.writable_roots = (const char* const*)jl->writable_roots.v;
  jl->spec.read_only_paths = (const char* const*)jl->read_only_paths.v;
  jl->spec.stdin_data = jl->stdin_data;
  jl->spec.stdin_len = jl->stdin_len;
  return 0;
}


void scale_jobline_free(scale_jobline_t* jl) {
  if (jl->id != NULL)
    json_decref(jl->id);
  capsid__strv_free(&jl->argv);
  capsid__strv_free(&jl->env);
  capsid__strv_free(&jl->writable_roots);
  capsid__strv_free(&jl->read_only_paths);
  capsid__free(jl->cwd);
  capsid__policy_free(&jl->policy);
  capsid__error_free(&jl->policy_error);
  capsid__free(jl->stdin_data);
  memset(jl, 0, sizeof(*jl));
}


int scale_jobline_start(capsid_runtime_t* rt, const scale_jobline_t* jl,
                        capsid_exit_cb on_exit, void* data,
                        capsid_job_t** job_out) {
  return capsid__job_start_parsed(rt, &jl->spec, &jl->policy,
                                  &jl->policy_error, on_exit, data, job_out);
}
