/* deny_read: paths and globs a job must not read (policy/denyread.c),
 * expanded per OS (policy/<os>/deny-glob-<os>.c). */
#ifndef CAPSID_DENYREAD_H
#define CAPSID_DENYREAD_H

#include "policy.h"

/* The most paths deny_read may name after expansion: each one is a mount
 * in the job's namespace, and a glob that matches thousands of files is
 * better written as their directory. */
#define CAPSID__DENY_READ_MAX 32

/* Refuses an unknown preset ("@..."), naming the field. Pure. */
int capsid__deny_read_check(const capsid__strv_t* deny,
                            capsid_error_t* err);

/* Expands the policy's deny_read against sb->cwd and the invoking user's
 * home into sb->deny_read (canonical, existing). Runs after the writable
 * roots are known: a denied path that holds the cwd or a writable root is
 * refused (CAPSID_EPOLICY naming the entry), as is an expansion beyond
 * CAPSID__DENY_READ_MAX. */
int capsid__deny_read_resolve(capsid__sandbox_t* sb,
                              const capsid__strv_t* deny,
                              capsid_error_t* err);

/* Refuses a job with deny_read where it cannot be enforced (why: "in
 * landlock-only mode (...)"): CAPSID_ENOTSUP naming policy.deny_read.
 * Returns 0 when sb denies nothing. */
int capsid__deny_read_refuse(const capsid__sandbox_t* sb, const char* why,
                             capsid_error_t* err);

/* Is path (canonical) equal to or beneath one of sv's paths? */
int capsid__path_within_any(const capsid__strv_t* sv, const char* path);

/* The paths a preset names ("@credentials"), NULL-terminated, or NULL
 * for an unknown name. "~" stands for the home, "." for the cwd. */
const char* const* capsid__deny_read_preset(const char* name);

/* Per OS. The invoking user's home directory (under sudo, the user who
 * ran sudo; else $HOME or the password database), canonical; or NULL. */
char* capsid__deny_home(void);
/* Appends to out every existing path that pattern (absolute, with *, ?
 * and [...] in any component) matches, as found (not canonicalised); a
 * pattern without wildcards yields itself when it exists. Returns 0 or
 * CAPSID_ENOMEM. */
int capsid__deny_glob(const char* pattern, capsid__strv_t* out);

#endif
