/* Elevated mode on Windows: which mode a job runs in (capsid__prelaunch),
 * and its part of doctor, setup and uninstall.
 *
 * Elevated mode runs jobs as the dedicated sandbox users that `capsid
 * setup` creates (users-win.c), offline jobs as the one the firewall cuts
 * off (firewall-win.c), through the runner (runner-client-win.c). `auto`
 * picks it when the users exist and capsid-runner.exe is in place; an
 * offline job additionally needs the firewall rules, checked before every
 * such job (fail closed: a missing rule refuses the job, never runs it
 * online). An explicit `--mode elevated` that cannot be met is refused
 * with CAPSID_ENOSETUP, never silently downgraded. */
#include "elevated-win.h"

#include "denyread-win.h"
#include "grant-win.h"
#include "helper-win.h"
#include "net.h"
#include "plan-win.h"
#include "runner-win.h"
#include "sandbox-int.h"
#include "system.h"
#include "users-win.h"
#include "verify-win.h"

#include <string.h>

int capsid__elevated_probe(capsid__report_cb cb, void* data) {
  char offline_sid[CAPSID__SID_MAX], why[256];
  int users = capsid__users_probe(offline_sid), fw_ok = 0, runner, ok;

  capsid__say(cb, data, "sandbox users", users == 2,
              users == 2 ? "CapsidOffline (%s) and CapsidOnline exist"
                         : "%s: run `capsid setup` as an administrator",
              users == 2 ? offline_sid : "missing");
  if (users == 2) {
    fw_ok = capsid__firewall_probe(offline_sid, why, sizeof(why));
    capsid__say(cb, data, "firewall", fw_ok, "%s", why);
  }
  runner = capsid__runner_exists();
  capsid__say(cb, data, "runner", runner, "capsid-runner.exe is %s",
              runner ? "next to this program" : "missing next to this program");
  ok = users == 2 && fw_ok && runner;
  capsid__say(cb, data, "mode elevated", ok, "%s",
              ok ? "available (auto uses it)"
                 : "needs `capsid setup` (sandbox users, firewall rules) and "
                   "capsid-runner.exe");
  return ok;
}


int capsid__elevated_setup(capsid__report_cb cb, void* data,
                           capsid_error_t* err) {
  char offline_sid[CAPSID__SID_MAX];
  int rc;

  rc = capsid__users_setup(cb, data, err);
  if (rc != 0)
    return rc;
  rc = capsid__account_sid(capsid__sandbox_user_names[0], offline_sid);
  if (rc != 0)
    return capsid__error_set(err, CAPSID_EVERIFY, CAPSID_STAGE_VERIFY, 0,
                             NULL, NULL, "the offline user has no SID");
  return capsid__firewall_setup(offline_sid, cb, data, err);
}


int capsid__system_read_roots(const char* const* roots,
                              capsid__report_cb cb, void* data,
                              capsid_error_t* err) {
  char group[CAPSID__SID_MAX];
  size_t n, i;
  int rc;

  if (capsid__account_sid(CAPSID__SANDBOX_GROUP, group) != 0)
    return capsid__error_set(err, CAPSID_ENOSETUP, CAPSID_STAGE_IDENTITY, 0,
                             NULL, "--read-root", "no group %s: run "
                             "`capsid setup` as an administrator first",
                             CAPSID__SANDBOX_GROUP);
  for (n = 0; roots[n] != NULL; n++)
    ;
  /* The read-ACL helper: under its mutex, through the ACL engine (read
   * record), each DACL read back. In the foreground, with capsid setup's
   * report, rather than detached as Codex does: the engine's parallel
   * walk is not the one-thread propagation that made Codex's take
   * minutes, and a user sees it finish (or fail, naming the path). */
  rc = capsid__read_helper_run(roots, n, group, err);
  if (rc != 0)
    return rc;
  for (i = 0; i < n; i++)
    capsid__say(cb, data, "read root", 1, "%s: read for %s", roots[i],
                CAPSID__SANDBOX_GROUP);
  return 0;
}


int capsid__elevated_uninstall(capsid__report_cb cb, void* data) {
  /* Rules first: they name the offline user's SID, which goes next. */
  int left = capsid__firewall_uninstall(cb, data);

  return left + capsid__users_uninstall(cb, data);
}


/* Why elevated mode cannot run this job, or NULL when it can. */
static const char* elevated_missing(const capsid__sandbox_t* sb, char* why,
                                    size_t size) {
  char offline_sid[CAPSID__SID_MAX];

  if (capsid__users_probe(offline_sid) != 2)
    return "the sandbox users do not exist: run `capsid setup` as an "
           "administrator";
  if (!capsid__runner_exists())
    return "capsid-runner.exe is missing next to the program that runs "
           "capsid";
  if (!sb->network && !capsid__firewall_probe(offline_sid, why, size))
    return why;
  return NULL;
}


/* auto -> the mode that will run; an elevated job that cannot run is
 * refused here. */
static int resolve_mode(const capsid__sandbox_t* sb, capsid_mode_t* mode,
                        capsid_error_t* err) {
  char why[256];
  const char* missing;

  if (*mode != CAPSID_MODE_AUTO && *mode != CAPSID_MODE_ELEVATED)
    return 0;
  /* The Wine test build runs its runner as the caller: nothing to find. */
  missing = capsid__win_test_mode() && *mode == CAPSID_MODE_ELEVATED
                ? NULL
                : elevated_missing(sb, why, sizeof(why));
  if (*mode == CAPSID_MODE_AUTO) {
    *mode = missing == NULL ? CAPSID_MODE_ELEVATED : CAPSID_MODE_UNPRIVILEGED;
    return 0;
  }
  if (missing != NULL)
    return capsid__error_set(err, CAPSID_ENOSETUP, CAPSID_STAGE_IDENTITY, 0,
                             NULL, "mode", "elevated mode: %s", missing);
  return 0;
}


int capsid__prelaunch(uv_loop_t* loop, capsid__pool_t* pool,
                      const capsid__sandbox_t* sb, capsid_mode_t* mode,
                      capsid__prep_t** prep, capsid__prelaunch_cb cb,
                      void* data, capsid_error_t* err) {
  int rc;

  *prep = NULL;
  rc = resolve_mode(sb, mode, err);
  if (rc == 0)
    rc = capsid__denyread_win_check(sb, *mode, err);
  if (rc == 0) /* the one plan of the job: the launcher follows it */
    rc = capsid__win_plan_build(sb, *mode, prep, err);
  if (rc != 0 || pool == NULL ||
      (*mode != CAPSID_MODE_UNPRIVILEGED && *mode != CAPSID_MODE_ELEVATED))
    return rc;
  /* The first job of a workspace writes its ACEs with the ACL engine's
   * walk: on the worker pool, like Linux's grants, not on the loop thread
   * the launcher runs on. The launcher then finds them in place (one read
   * per path) and reads them back. */
  return capsid__grant_ahead(loop, pool, &(*prep)->acl, cb, data, err);
}


int capsid__postexit(uv_loop_t* loop, capsid__pool_t* pool,
                     const capsid__sandbox_t* sb, capsid_mode_t mode,
                     const capsid__prep_t* prep, capsid__prelaunch_cb cb,
                     void* data) {
  /* Files a job creates inherit the root's ACEs, and the real user keeps
   * its own access through them: no ownership to hand back. */
  (void)loop;
  (void)pool;
  (void)sb;
  (void)mode;
  (void)prep;
  (void)cb;
  (void)data;
  return 0;
}
