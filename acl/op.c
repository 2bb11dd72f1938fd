/* Skeleton: the executor arrives in the next commits. */
#include "acl.h"

#include <string.h>

int capsid__acl_op_start(uv_loop_t* loop, capsid__pool_t* pool,
                         capsid__acl_action_t action,
                         const capsid__acl_plan_t* plan,
                         const capsid__acl_opts_t* opts,
                         capsid__acl_done_cb cb, void* data,
                         capsid__acl_op_t** out) {
  (void)loop, (void)pool, (void)action, (void)plan, (void)opts, (void)cb;
  (void)data;
  if (out != NULL)
    *out = NULL;
  return CAPSID_ENOTSUP;
}

void capsid__acl_op_cancel(capsid__acl_op_t* op) {
  (void)op;
}

void capsid__acl_op_stats(const capsid__acl_op_t* op,
                          capsid__acl_stats_t* out) {
  (void)op;
  memset(out, 0, sizeof(*out));
}

int capsid__acl_run(capsid__acl_action_t action,
                    const capsid__acl_plan_t* plan,
                    const capsid__acl_opts_t* opts,
                    capsid__acl_stats_t* stats, capsid_error_t* err) {
  (void)action, (void)plan, (void)opts;
  memset(stats, 0, sizeof(*stats));
  return capsid__error_set(err, CAPSID_ENOTSUP, CAPSID_STAGE_ACL, 0, NULL,
                           NULL, "the ACL executor is not built yet");
}

int capsid__acl_remove_all(const char* state_dir, unsigned threads,
                           capsid__acl_stats_t* stats, capsid_error_t* err) {
  (void)state_dir, (void)threads;
  memset(stats, 0, sizeof(*stats));
  return capsid__error_set(err, CAPSID_ENOTSUP, CAPSID_STAGE_ACL, 0, NULL,
                           NULL, "the ACL executor is not built yet");
}

int capsid__acl_info(const char* state_dir, const char* key,
                     capsid__acl_info_t* out, capsid_error_t* err) {
  (void)state_dir, (void)key, (void)err;
  memset(out, 0, sizeof(*out));
  return 0;
}

void capsid__acl_info_free(capsid__acl_info_t* info) {
  capsid__acl_plan_free(&info->plan);
}

int capsid__acl_audit(const capsid__acl_audit_opts_t* opts,
                      capsid__acl_audit_t* out) {
  (void)opts;
  memset(out, 0, sizeof(*out));
  return 0;
}

void capsid__acl_audit_free(capsid__acl_audit_t* a) {
  (void)a;
}
