/* Builds the environment block of a job, and the environment facts
 * capsid itself runs by (the state directory). */
#ifndef CAPSID_ENV_H
#define CAPSID_ENV_H

#include "capsid-common.h"

/* INHERIT: capsid's own environment with each NAME=VALUE of vars replacing
 * or adding its name; REPLACE: exactly vars. Entries without '=' are
 * rejected with CAPSID_EINVAL and *bad set to the index. */
int capsid__env_build(capsid_env_mode_t mode, const char* const* vars,
                      capsid__strv_t* out, size_t* bad);
/* Sets or replaces NAME in an environment block. */
int capsid__env_set(capsid__strv_t* env, const char* name, const char* value);
/* Value of NAME in an environment block, or NULL. */
const char* capsid__env_get(const capsid__strv_t* env, const char* name);

/* Per OS (base/<os>/env-<os>.c): */
/* Do the n-byte variable names a and b name the same variable?
 * Case-sensitive on Linux, case-insensitive on Windows. */
int capsid__env_name_eq(const char* a, const char* b, size_t n);
/* The variables that name a job's temporary directory, NULL-terminated:
 * TMPDIR on Linux; TMP, TEMP and TMPDIR on Windows. Each one set to a
 * directory becomes a writable root unless the policy excludes it. */
#define CAPSID__TMP_ENV_MAX 4
extern const char* const capsid__tmp_env_names[CAPSID__TMP_ENV_MAX];

/* The state directory: $CAPSID_STATE_DIR, else the OS default
 * (/var/lib/capsid). Thread-safe; never NULL. */
const char* capsid__state_dir(void);

#endif
