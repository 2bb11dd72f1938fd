/* What a Windows job needs, worked out before anything is created: the
 * restricting SIDs of its token, its job object's limits, and the ACEs
 * its roots and protected paths must carry. The launcher builds it for
 * each job (launch-win.c); prelaunch builds it first to write missing
 * ACEs on the worker pool (elevated-win.c). */
#include "plan-win.h"
#include "capstore-win.h"
#include "users-win.h"
#include "verify-win.h"

#include <string.h>

static int elevated(const capsid__launch_t* l) {
  return l->mode == CAPSID_MODE_ELEVATED;
}


static int plan_ace(capsid__win_plan_t* pl, const char* path,
                    const char* sid, int deny, int read,
                    capsid_error_t* err) {
  capsid__ace_plan_t* a;

  if (pl->n_aces >= CAPSID__ARRAY_SIZE(pl->aces))
    return capsid__error_set(err, CAPSID_ETOOLONG, CAPSID_STAGE_ACL, 0, path,
                             NULL, "too many writable roots and protected "
                             "paths for one job (at most %zu)",
                             CAPSID__ARRAY_SIZE(pl->aces));
  a = &pl->aces[pl->n_aces++];
  a->path = path;
  a->deny = deny;
  a->read = read;
  memcpy(a->sid, sid, CAPSID__SID_MAX);
  return 0;
}


static int plan_deny(capsid__win_plan_t* pl, const char* path,
                     const capsid__caps_t* caps, int have_generic,
                     capsid_error_t* err) {
  int rc = plan_ace(pl, path, caps->workspace, 1, 0, err);

  if (rc == 0 && have_generic)
    rc = plan_ace(pl, path, caps->generic, 1, 0, err);
  return rc;
}


/* Elevated jobs run as a sandbox user, whose own access is checked
 * first: the sandbox users' group gets read and write on the writable
 * roots (the capability SIDs still decide which workspace a job may
 * write), or read on the cwd of a read-only job. In the Wine test build
 * the group may not exist and the runner is the calling user: no group
 * ACEs then. */
static int plan_group(const capsid__launch_t* l, capsid__win_plan_t* pl,
                      int read_only, capsid_error_t* err) {
  const capsid__sandbox_t* sb = l->sandbox;
  char group[CAPSID__SID_MAX];
  size_t i;
  int rc = 0;

  if (capsid__account_sid(CAPSID__SANDBOX_GROUP, group) != 0)
    return capsid__win_test_mode()
               ? 0
               : capsid__error_set(err, CAPSID_ENOSETUP,
                                   CAPSID_STAGE_IDENTITY, 0, NULL, NULL,
                                   "no group %s: run `capsid setup` as an "
                                   "administrator", CAPSID__SANDBOX_GROUP);
  if (read_only)
    return plan_ace(pl, sb->cwd, group, 0, 1, err);
  for (i = 0; i < sb->writable.n && rc == 0; i++)
    rc = plan_ace(pl, sb->writable.v[i], group, 0, 0, err);
  return rc;
}


int capsid__win_plan_build(const capsid__launch_t* l, capsid__win_plan_t* pl,
                          capsid_error_t* err) {
  const capsid__sandbox_t* sb = l->sandbox;
  const int read_only =
      sb->kind == CAPSID__POLICY_READ_ONLY || sb->writable.n == 0;
  capsid__caps_t caps;
  int rc, have_generic;
  size_t i;

  memset(pl, 0, sizeof(*pl));
  pl->jobobj.memory_limit = l->memory_limit;
  /* In elevated mode the runner is one of the job object's processes. */
  pl->jobobj.max_processes =
      l->max_processes + (l->max_processes > 0 && elevated(l) ? 1 : 0);
  pl->jobobj.cpu_rate = capsid__jobobj_cpu_rate(
      l->cpu_limit, (uint32_t)GetActiveProcessorCount(ALL_PROCESSOR_GROUPS));
  rc = capsid__caps_get((const char* const*)sb->writable.v,
                       read_only ? 0 : sb->writable.n, &caps, err);
  if (rc == 0 && elevated(l))
    rc = plan_group(l, pl, read_only, err);
  if (rc != 0)
    return rc;
  if (read_only) {
    pl->token.n = 1;
    memcpy(pl->token.sids[0], caps.read_only, sizeof(caps.read_only));
    return 0;
  }
  /* The workspace's own SID writes the first root (the workspace); the
   * generic SID writes the extra roots and temp dirs, which are shared by
   * every workspace. Two SIDs per token however many workspaces exist. */
  memcpy(pl->token.sids[pl->token.n++], caps.workspace,
         sizeof(caps.workspace));
  have_generic = sb->writable.n > 1;
  if (have_generic)
    memcpy(pl->token.sids[pl->token.n++], caps.generic,
           sizeof(caps.generic));
  for (i = 0; i < sb->writable.n && rc == 0; i++)
    rc = plan_ace(pl, sb->writable.v[i],
                  i == 0 ? caps.workspace : caps.generic, 0, 0, err);
  /* Protected paths lie inside writable roots: deny writes to both SIDs,
   * since a protected path may sit in an extra root too. One that is
   * missing beneath a placeholder needs no ACE of its own: the
   * placeholder's inherited deny covers it, and creating it would leave
   * the placeholder non-empty after the job. */
  for (i = 0; i < sb->protected_paths.n && rc == 0; i++)
    if (capsid__path_exists(sb->protected_paths.v[i]) ||
        capsid__strv_contains(&sb->missing_protected,
                              sb->protected_paths.v[i]))
      rc = plan_deny(pl, sb->protected_paths.v[i], &caps, have_generic, err);
  /* Placeholders (policy.h): created before the job, removed after it. */
  for (i = 0; i < sb->missing_protected.n && rc == 0; i++)
    if (!capsid__strv_contains(&sb->protected_paths,
                               sb->missing_protected.v[i]))
      rc = plan_deny(pl, sb->missing_protected.v[i], &caps, have_generic,
                     err);
  return rc;
}
