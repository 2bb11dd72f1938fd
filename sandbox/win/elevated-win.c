/* Elevated mode on Windows: which mode a job runs in (capsid__prelaunch),
 * and its part of doctor, setup and uninstall.
 *
 * Elevated mode runs jobs as the dedicated sandbox users that
 * `capsid setup` creates. Until they exist, `auto` means the unprivileged
 * restricted-token mode and an explicit `--mode elevated` is refused with
 * CAPSID_ENOSETUP, never silently downgraded. */
#include "capsid-win.h"

#include <string.h>

int capsid__elevated_probe(capsid__report_cb cb, void* data) {
  capsid__say(cb, data, "mode elevated", 0,
              "not available: the sandbox users are not implemented in "
              "this Windows build");
  return 0;
}


int capsid__elevated_setup(capsid__report_cb cb, void* data,
                           capsid_error_t* err) {
  (void)err;
  capsid__say(cb, data, "sandbox users", 0,
              "not created: elevated mode is not implemented in this "
              "Windows build");
  return 0;
}


int capsid__elevated_uninstall(capsid__report_cb cb, void* data) {
  (void)cb;
  (void)data;
  return 0;
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
                             "elevated mode needs the sandbox users, which "
                             "this Windows build cannot set up yet; use mode "
                             "\"auto\" or \"unprivileged\"");
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
