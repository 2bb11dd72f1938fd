/* What a Windows job needs, worked out before anything is created: the
 * restricting SIDs of its token and the grants its roots and protected
 * paths must carry, planned by the ACL engine's planner (acl/plan.c) with
 * the job's capability SIDs. Prelaunch builds it once (elevated-win.c)
 * and the launcher uses it (launch-win.c). */
#include "plan-win.h"

#include "capstore-win.h"
#include "denyread-win.h"
#include "path.h"
#include "users-win.h"
#include "verify-win.h"
#include "wwdeny-win.h"

#include <string.h>

/* The grants of one job stay few: at most this many ACEs (an allow per
 * root and SID, a deny per protected path and SID). */
#define MAX_ACES 16

static capsid__acl_path_kind_t path_kind(const char* path) {
  int os_error;

  if (capsid__path_is_dir(path, &os_error) == 1)
    return CAPSID__ACL_PATH_DIR;
  return capsid__path_exists(path) ? CAPSID__ACL_PATH_FILE
                                   : CAPSID__ACL_PATH_MISSING;
}


static capsid__acl_principal_t sid_principal(const char* sid) {
  capsid__acl_principal_t p;

  memset(&p, 0, sizeof(p));
  p.kind = CAPSID__ACL_GROUP;
  p.sid = sid;
  return p;
}


/* Elevated jobs run as a sandbox user, whose own access is checked
 * first: the sandbox users' group is granted the roots too (the
 * capability SIDs still decide which workspace a job may write). In the
 * Wine test build the group may not exist and the runner is the calling
 * user: no group grants then (group left empty). */
static int sandbox_group(char group[CAPSID__SID_MAX], capsid_error_t* err) {
  if (capsid__account_sid(CAPSID__SANDBOX_GROUP, group) == 0)
    return 0;
  group[0] = '\0';
  return capsid__win_test_mode()
             ? 0
             : capsid__error_set(err, CAPSID_ENOSETUP, CAPSID_STAGE_IDENTITY,
                                 0, NULL, NULL,
                                 "no group %s: run `capsid setup` as an "
                                 "administrator", CAPSID__SANDBOX_GROUP);
}


/* Every entry but the read entries that accompany a deny is one ACE. */
static int aces_fit(const capsid__acl_plan_t* plan, capsid_error_t* err) {
  const capsid__acl_target_t* t;
  size_t i, j, n = 0;

  for (i = 0; i < plan->n_targets; i++) {
    t = &plan->targets[i];
    for (j = 0; j < t->n_entries; j++)
      if (t->kind != CAPSID__ACL_T_READ_ONLY ||
          (t->entries[j].perms & CAPSID__ACL_DENY))
        n++;
    if (n > MAX_ACES)
      return capsid__error_set(err, CAPSID_ETOOLONG, CAPSID_STAGE_ACL, 0,
                               t->path, NULL, "too many writable roots and "
                               "protected paths for one job (at most %d)",
                               MAX_ACES);
  }
  return 0;
}


/* The temp directories get one inheritable ACE on the directory itself,
 * not a walk of what is in it: %TEMP% holds other programs' leftovers,
 * some owned by SYSTEM or an administrator, whose DACL the user may not
 * change, and one such object would refuse every job (the walk's error).
 * What a job creates there inherits the ACE; what was there before stays
 * as it was. */
static void temp_dirs_shallow(const capsid__sandbox_t* sb,
                              capsid__acl_plan_t* plan) {
  size_t i, j;

  for (i = 0; i < plan->n_targets; i++)
    for (j = sb->first_tmp; j < sb->writable.n; j++)
      if (plan->targets[i].kind == CAPSID__ACL_T_WRITE &&
          strcmp(plan->targets[i].path, sb->writable.v[j]) == 0)
        plan->targets[i].recursive = 0;
}


/* The workspace's own SID writes the first root (the workspace); the
 * generic SID writes the extra roots and temp dirs, which are shared by
 * every workspace. Two SIDs per token however many workspaces exist. */
static int plan_grants(const capsid__sandbox_t* sb, int read_only,
                       const capsid__caps_t* caps, const char* group,
                       capsid__acl_plan_t* out, capsid_error_t* err) {
  capsid__acl_principal_t* roots;
  capsid__acl_plan_in_t in;
  size_t i, n = sb->writable.n > 1 ? sb->writable.n - 1 : 0;
  int rc;

  roots = capsid__calloc(n ? n : 1, sizeof(*roots));
  if (roots == NULL)
    return capsid__error_set(err, CAPSID_ENOMEM, CAPSID_STAGE_ACL, 0, NULL,
                             NULL, NULL);
  for (i = 0; i < n; i++)
    roots[i] = sid_principal(caps->generic);
  memset(&in, 0, sizeof(in));
  in.sandbox = sb;
  in.ids.workspace =
      sid_principal(read_only ? caps->read_only : caps->workspace);
  in.ids.roots = roots;
  in.ids.n_roots = n;
  if (group[0] != '\0')
    in.ids.users = sid_principal(group);
  in.rules = CAPSID__ACL_RULES_WIN_JOB;
  in.path_kind = path_kind;
  rc = capsid__acl_plan_build(&in, out, err);
  if (rc == 0)
    temp_dirs_shallow(sb, out);
  capsid__free(roots);
  if (rc == 0 && (rc = aces_fit(out, err)) != 0)
    capsid__acl_plan_free(out);
  return rc;
}


int capsid__win_plan_build(const capsid__sandbox_t* sb, capsid_mode_t mode,
                           capsid__prep_t** out, capsid_error_t* err) {
  const int read_only =
      sb->kind == CAPSID__POLICY_READ_ONLY || sb->writable.n == 0;
  char group[CAPSID__SID_MAX] = "";
  capsid__prep_t* pl;
  capsid__caps_t caps;
  int rc;

  *out = NULL;
  pl = capsid__calloc(1, sizeof(*pl));
  if (pl == NULL)
    return capsid__error_set(err, CAPSID_ENOMEM, CAPSID_STAGE_ACL, 0, NULL,
                             NULL, NULL);
  rc = capsid__caps_get((const char* const*)sb->writable.v,
                        read_only ? 0 : sb->writable.n, &caps, err);
  if (rc == 0)
    rc = capsid__token_variant_from_env(&pl->token.variant, err);
  if (rc == 0 && mode == CAPSID_MODE_ELEVATED)
    rc = sandbox_group(group, err);
  if (rc == 0)
    rc = plan_grants(sb, read_only, &caps, group, &pl->acl, err);
  /* deny_read: elevated jobs only (capsid__denyread_win_check refused the
   * rest), a deny-read ACE for the group the sandbox users read with. */
  if (rc == 0 && mode == CAPSID_MODE_ELEVATED &&
      (rc = capsid__denyread_win_plan(sb, group, &pl->acl, err)) != 0)
    capsid__acl_plan_free(&pl->acl);
  if (rc != 0) {
    capsid__free(pl);
    return rc;
  }
  if (read_only) {
    pl->token.n = 1;
    memcpy(pl->token.sids[0], caps.read_only, sizeof(caps.read_only));
  } else {
    memcpy(pl->token.sids[pl->token.n++], caps.workspace,
           sizeof(caps.workspace));
    if (sb->writable.n > 1)
      memcpy(pl->token.sids[pl->token.n++], caps.generic,
             sizeof(caps.generic));
  }
  /* The default token's Everyone passes the write check wherever a DACL
   * grants Everyone write: deny those places to the capability SIDs. */
  rc = capsid__ww_deny_plan(sb, &pl->token, &pl->acl, NULL, err);
  if (rc != 0) {
    capsid__prep_free(pl);
    return rc;
  }
  *out = pl;
  return 0;
}


void capsid__prep_free(capsid__prep_t* pl) {
  if (pl == NULL)
    return;
  capsid__acl_plan_free(&pl->acl);
  capsid__free(pl);
}
