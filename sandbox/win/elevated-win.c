/* Elevated mode on Windows: which mode a job runs in (capsid__prelaunch),
 * and its part of doctor, setup and uninstall.
 *
 * Elevated mode is to run jobs as the dedicated sandbox users that
 * `capsid setup` creates (users-win.c), offline jobs as the one the
 * firewall cuts off (firewall-win.c). Setup and uninstall are complete;
 * starting a job as a sandbox user is not written yet, so `auto` means
 * the unprivileged restricted-token mode and an explicit `--mode elevated`
 * is refused with CAPSID_ENOSETUP, never silently downgraded. */
#include "capsid-win.h"

#include <string.h>

int capsid__elevated_probe(capsid__report_cb cb, void* data) {
  char offline_sid[CAPSID__SID_MAX], why[256];
  int users = capsid__users_probe(offline_sid), fw_ok = 0;

  capsid__say(cb, data, "sandbox users", users == 2,
              users == 2 ? "CapsidOffline (%s) and CapsidOnline exist"
                         : "%s: run `capsid setup` as an administrator",
              users == 2 ? offline_sid : "missing");
  if (users == 2) {
    fw_ok = capsid__firewall_probe(offline_sid, why, sizeof(why));
    capsid__say(cb, data, "firewall", fw_ok, "%s", why);
  }
  /* Even when all of it is in place, jobs do not run as the sandbox users
   * yet: say so rather than let auto pick a mode that cannot launch. */
  capsid__say(cb, data, "mode elevated", 0, "%s",
              users == 2 && fw_ok
                  ? "set up, but starting jobs as the sandbox users is not "
                    "implemented yet (auto uses unprivileged)"
                  : "needs `capsid setup` (sandbox users, firewall rules)");
  return 0;
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


int capsid__elevated_uninstall(capsid__report_cb cb, void* data) {
  /* Rules first: they name the offline user's SID, which goes next. */
  int left = capsid__firewall_uninstall(cb, data);

  return left + capsid__users_uninstall(cb, data);
}


int capsid__prelaunch(uv_loop_t* loop, capsid__pool_t* pool,
                      const capsid__sandbox_t* sb, capsid_mode_t* mode,
                      capsid__prelaunch_cb cb, void* data,
                      capsid_error_t* err) {
  (void)loop;
  (void)pool;
  (void)sb;
  (void)cb;
  (void)data;
  if (*mode == CAPSID_MODE_AUTO)
    *mode = CAPSID_MODE_UNPRIVILEGED;
  if (*mode == CAPSID_MODE_ELEVATED)
    return capsid__error_set(err, CAPSID_ENOSETUP, CAPSID_STAGE_IDENTITY, 0,
                             NULL, "mode",
                             "elevated mode: starting jobs as the sandbox "
                             "users is not implemented on Windows yet; use "
                             "mode \"auto\" or \"unprivileged\"");
  /* The unprivileged launcher grants its roots itself, synchronously and
   * verified (grant-win.c): nothing to wait for here. */
  return 0;
}


int capsid__postexit(uv_loop_t* loop, capsid__pool_t* pool,
                     const capsid__sandbox_t* sb, capsid_mode_t mode,
                     capsid__prelaunch_cb cb, void* data) {
  /* Files a job creates inherit the root's ACEs, and the real user keeps
   * its own access through them: no ownership to hand back. */
  (void)loop;
  (void)pool;
  (void)sb;
  (void)mode;
  (void)cb;
  (void)data;
  return 0;
}
