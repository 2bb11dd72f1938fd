/* What a Windows job needs, worked out once, before anything is created
 * (plan-win.c): at prelaunch, which writes missing grants on the worker
 * pool, then handed to the launcher as the backend's capsid__prep_t
 * (sandbox-int.h).
 *
 * A job's confinement is built in this order, each step read back and
 * compared with what was asked before the next one starts (fail closed):
 *   capability SIDs (capstore-win.h) -> restricted token (token-win.h)
 *   -> job object (jobobj-win.h) -> DACL grants (grant-win.h)
 *   -> CreateProcessAsUserW (spawn-win.h), driven by launch-win.c.
 * In elevated mode the token and the process are made by the runner,
 * running as the sandbox user (runner-win.h). */
#ifndef CAPSID_PLAN_WIN_H
#define CAPSID_PLAN_WIN_H

#include "acl.h"
#include "sandbox-int.h"
#include "token-win.h"

struct capsid__prep_s {
  capsid__token_plan_t token; /* the token's restricting SIDs */
  capsid__acl_plan_t acl;     /* the grants: a SID plan of acl/plan.c */
};

/* Works out the plan of a job in mode (already resolved): capability
 * SIDs from the store (created as needed), the token's restricting SIDs,
 * and the grants (allow on the writable roots, deny-write on the
 * protected paths, the sandbox group's in elevated mode). *out is freed
 * with capsid__prep_free. */
int capsid__win_plan_build(const capsid__sandbox_t* sb, capsid_mode_t mode,
                           capsid__prep_t** out, capsid_error_t* err);

#endif
