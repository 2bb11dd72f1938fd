/* Helpers for reading JSON input with errors that name the field. */
#ifndef CAPSID_JSON_UTIL_H
#define CAPSID_JSON_UTIL_H

#include "capsid-common.h"

#include <jansson.h>

/* Fails with CAPSID_E<code> on the first key of obj not in known
 * (NULL-terminated), suggesting the closest known name. prefix names the
 * object in the message ("policy"), or is "" for the top level. */
int capsid__json_check_fields(json_t* obj, const char* const* known,
                              const char* prefix, int code, int stage,
                              capsid_error_t* err);

/* The known name closest to name by edit distance, or NULL when none is
 * close enough to be a plausible typo. */
const char* capsid__closest_name(const char* name, const char* const* known);

/* Reads a bool member. Absent or null leaves *out alone. */
int capsid__json_get_bool(json_t* obj, const char* key, const char* field,
                          int code, int stage, int* out,
                          capsid_error_t* err);

/* Reads an array of strings into sv. Absent or null is an empty list. */
int capsid__json_get_strv(json_t* obj, const char* key, const char* field,
                          int code, int stage, capsid__strv_t* sv,
                          capsid_error_t* err);

/* jansson type as a word for messages ("a string", "an array"). */
const char* capsid__json_type_word(const json_t* v);

#endif
