/* Builds the environment block of a job. */
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

#endif
