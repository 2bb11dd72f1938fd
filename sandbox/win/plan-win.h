/* What a Windows job needs, worked out before anything is created
 * (plan-win.c).
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

#include "grant-win.h"
#include "jobobj-win.h"
#include "sandbox-int.h"
#include "token-win.h"

typedef struct capsid__win_plan_s {
  capsid__token_plan_t token;
  capsid__jobobj_plan_t jobobj;
  capsid__ace_plan_t aces[16];
  size_t n_aces;
} capsid__win_plan_t;

/* Works out the plan of a launch (l->mode already resolved): capability
 * SIDs from the store (created as needed), the token's restricting SIDs,
 * the job object's limits, and the ACEs (allow on the writable roots,
 * deny-write on the protected paths, the sandbox group's in elevated
 * mode). The ACEs' paths point into l->sandbox. */
int capsid__win_plan_build(const capsid__launch_t* l, capsid__win_plan_t* pl,
                           capsid_error_t* err);

#endif
