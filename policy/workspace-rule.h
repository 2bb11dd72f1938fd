/* What may be a workspace (the cwd under workspace-write) or a writable
 * root. Policy resolution asks before it adds any root, so `capsid run`,
 * `capsid batch`, the worker and the C API all enforce the same rule:
 *
 *  - never the whole filesystem, a system tree or an ancestor of one
 *    (the per-OS list below); as root, never a shared temporary
 *    directory itself (/tmp) -- below it is fine. (Overlap with capsid's
 *    state directory is elevated mode's own check, and the mounts hide
 *    it from jobs otherwise.)
 *  - (Linux) never named through a symbolic link a job could have made:
 *    every link on the way must be root's, in directories only root may
 *    write;
 *  - (Linux, capsid running as root) owned by the invoking user
 *    ($SUDO_UID under sudo, else the real uid) and not the home directory
 *    of another account nor above one, unless the administrator lists
 *    the directory (or one above it) in <state dir>/allowed-roots.
 *
 * The tmp roots the policy adds itself stay as they were: /tmp, and a
 * $TMPDIR (TMP, TEMP) inside a shared temporary directory; any other
 * $TMPDIR is checked like a writable root. */
#ifndef CAPSID_WORKSPACE_RULE_H
#define CAPSID_WORKSPACE_RULE_H

#include "capsid-common.h"

/* The name of the administrator's allow-list in the state directory. */
#define CAPSID__ALLOWED_ROOTS_FILE "allowed-roots"

/* May canon (canonical, an existing directory, not the filesystem root)
 * become writable? given is the path as the caller wrote it, relative to
 * base (canonical; NULL: the process's cwd). tmp is set for a temporary
 * directory from the job's environment. Returns 0, or CAPSID_EPOLICY with
 * err naming field, the path and why. */
int capsid__root_check(const char* base, const char* given,
                       const char* canon, const char* field, int tmp,
                       capsid_error_t* err);

/* Fills err for a refusal of given (as the caller wrote it) in field,
 * saying why; returns CAPSID_EPOLICY. Inline: both halves of the rule
 * refuse, and neither half should call into the other for it. */
static inline int capsid__root_refuse(capsid_error_t* err, const char* field,
                                      const char* given, const char* why) {
  return capsid__error_set(err, CAPSID_EPOLICY, CAPSID_STAGE_POLICY, 0,
                           given, field,
                           "%s: \"%s\" cannot be made writable: %s", field,
                           given, why);
}

/* Per OS (policy/<os>/workspace-rule-<os>.c). */

/* The system trees, canonical, NULL-terminated; computed once per
 * process (they do not move) so that checking a root allocates nothing
 * for them. */
const char* const* capsid__root_system_trees(void);
/* The machine's shared temporary directories, canonical, NULL-terminated
 * and computed once like the above (none on Windows, where each user has
 * their own). */
const char* const* capsid__root_shared_tmp(void);
/* The checks that need the OS: links on the way and who owns canon. */
int capsid__root_os_check(const char* base, const char* given,
                          const char* canon, const char* field,
                          capsid_error_t* err);

#endif
