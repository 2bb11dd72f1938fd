#include "json-util.h"

#include <string.h>

const char* capsid__json_type_word(const json_t* v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    return "an object";
  case JSON_ARRAY:
    return "an array";
  case JSON_STRING:
    return "a string";
  case JSON_INTEGER:
    return "an integer";
  case JSON_REAL:
    return "a number";
  case JSON_TRUE:
  case JSON_FALSE:
    return "a boolean";
  case JSON_NULL:
    return "null";
  }
  return "a value";
}


static size_t edit_distance(const char* a, const char* b) {
  size_t la = strlen(a), lb = strlen(b), i, j;
  size_t row[64], prev, tmp, best;

  /* Field names are short; anything longer is not a typo worth fixing. */
  if (la >= 63 || lb >= 63)
    return (size_t)-1;
  for (j = 0; j <= lb; j++)
    row[j] = j;
  for (i = 1; i <= la; i++) {
    prev = row[0];
    row[0] = i;
    for (j = 1; j <= lb; j++) {
      tmp = row[j];
      best = prev + (a[i - 1] != b[j - 1]);
      if (row[j] + 1 < best)
        best = row[j] + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      prev = tmp;
    }
  }
  return row[lb];
}


const char* capsid__closest_name(const char* name, const char* const* known) {
  const char* best = NULL;
  size_t best_d = (size_t)-1, d, limit;

  for (; *known != NULL; known++) {
    d = edit_distance(name, *known);
    if (d < best_d) {
      best_d = d;
      best = *known;
    }
  }
  /* Allow about one edit in three characters. */
  limit = strlen(name) / 3 + 1;
  return best_d <= limit ? best : NULL;
}


int capsid__json_check_fields(json_t* obj, const char* const* known,
                              const char* prefix, int code, int stage,
                              capsid_error_t* err) {
  const char* key;
  json_t* value;
  const char* const* k;
  const char* hint;
  char field[256];

  json_object_foreach(obj, key, value) {
    for (k = known; *k != NULL; k++)
      if (strcmp(*k, key) == 0)
        break;
    if (*k != NULL)
      continue;
    snprintf(field, sizeof(field), "%s%s%s", prefix, *prefix ? "." : "",
             key);
    hint = capsid__closest_name(key, known);
    if (hint != NULL)
      return capsid__error_set(err, code, stage, 0, NULL, field,
                               "unknown field \"%s\" (did you mean \"%s\"?)",
                               field, hint);
    return capsid__error_set(err, code, stage, 0, NULL, field,
                             "unknown field \"%s\"", field);
  }
  return 0;
}


int capsid__json_get_bool(json_t* obj, const char* key, const char* field,
                          int code, int stage, int* out,
                          capsid_error_t* err) {
  json_t* v = json_object_get(obj, key);

  if (v == NULL || json_is_null(v))
    return 0;
  if (!json_is_boolean(v))
    return capsid__error_set(err, code, stage, 0, NULL, field,
                             "\"%s\" must be true or false, not %s", field,
                             capsid__json_type_word(v));
  *out = json_is_true(v);
  return 0;
}


int capsid__json_get_strv(json_t* obj, const char* key, const char* field,
                          int code, int stage, capsid__strv_t* sv,
                          capsid_error_t* err) {
  json_t* v = json_object_get(obj, key);
  json_t* item;
  size_t i;
  char name[256];

  if (v == NULL || json_is_null(v))
    return 0;
  if (!json_is_array(v))
    return capsid__error_set(err, code, stage, 0, NULL, field,
                             "\"%s\" must be an array of strings, not %s",
                             field, capsid__json_type_word(v));
  json_array_foreach(v, i, item) {
    snprintf(name, sizeof(name), "%s[%zu]", field, i);
    if (!json_is_string(item))
      return capsid__error_set(err, code, stage, 0, NULL, name,
                               "\"%s\" must be a string, not %s", name,
                               capsid__json_type_word(item));
    if (json_string_length(item) == 0 ||
        strlen(json_string_value(item)) != json_string_length(item))
      return capsid__error_set(err, code, stage, 0, NULL, name,
                               "\"%s\" must be a non-empty string without "
                               "NUL bytes",
                               name);
    if (capsid__strv_push(sv, json_string_value(item)) != 0)
      return capsid__error_set(err, CAPSID_ENOMEM, stage, 0, NULL, name,
                               NULL);
  }
  return 0;
}
