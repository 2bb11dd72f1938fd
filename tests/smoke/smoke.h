/* Shared pieces of the smoke suite: every case runs real jobs through the
 * C API in the mode under test and asserts what the kernel let them do.
 * Each denial comes with its control: the same action, where the policy
 * allows it, succeeds. */
#ifndef CAPSID_SMOKE_H
#define CAPSID_SMOKE_H

#include "test-common.h"

#include <stdint.h>

/* The variant this process runs: set by main from argv[1]. */
extern capsid_mode_t smoke_mode;       /* requested */
extern capsid_mode_t smoke_mode_ran;   /* what every job must report */
extern const char* smoke_variant;      /* "unprivileged", "landlock-only" */

typedef struct smoke_job_s {
  const char* cwd;
  const char* policy;               /* NULL: workspace-write */
  const char* const* writable;      /* extra roots */
  const char* const* read_only;
  const char* const* env;           /* NAME=value on top of capsid's */
  int network;                      /* -1 policy, 0, 1 */
  uint64_t timeout_ms;
  uint64_t memory_limit;
  uint32_t max_processes;
} smoke_job_t;

/* Runs argv as a job and fills result (free it); no checks. */
void smoke_run_argv(const smoke_job_t* job, const char* const* argv,
                    capsid_result_t* result);
/* Runs `sh -c script` as a job and fills result (free it); no checks. */
void smoke_run(const smoke_job_t* job, const char* script,
               capsid_result_t* result);
/* Asserts that capsid itself did not fail and that the job ran in the
 * variant's mode. */
void smoke_check_ran(const capsid_result_t* result);
/* Runs `sh -c script` as a job and fills result (free it). Asserts that
 * capsid itself did not fail and that the job ran in the variant's mode. */
void smoke_sh(const smoke_job_t* job, const char* script,
              capsid_result_t* result);
/* The exit status of `sh -c script`, or 1000+signal. */
int smoke_sh_status(const smoke_job_t* job, const char* script);

/* Where fixtures live: never under /tmp or $TMPDIR, which workspace-write
 * grants, so "outside the roots" really is outside. */
const char* smoke_dir(void);
/* A fresh workspace directory under smoke_dir(). */
char* smoke_workspace(void);
/* Hands ws to the user nobody, who from now on (until the next
 * smoke_workspace) is the user invoking capsid, as through sudo. */
void smoke_give_to_nobody(const char* ws);
void smoke_rmtree(char* dir);

/* A unique token for markers and file names. */
const char* smoke_token(void);

/* 1 when the program is installed. */
int smoke_have(const char* program);

/* deny_read (smoke-denyread.c). A home of its own (HOME names it, until
 * smoke_deny_fx_free) with keys, a glob's worth of files, a denied token
 * and a public plain.txt; a workspace with dotenv files, a link into the
 * home and a public src.txt; the policy denies the secrets. */
#define SMOKE_DENY_SECRET "deny-read-secret-7f3a"
#define SMOKE_DENY_PUBLIC "deny-read-public-91c2"
typedef struct smoke_deny_fx_s {
  char* ws;
  char home[1200];
  char policy[4096];
  char* old_home;
} smoke_deny_fx_t;
void smoke_deny_fx_make(smoke_deny_fx_t* f);
void smoke_deny_fx_free(smoke_deny_fx_t* f);
/* Writes dir/name, mode 0644. */
void smoke_put(const char* dir, const char* name, const char* text);

/* The cases. */
void smoke_read_only_denies_cwd(void** state);
void smoke_read_only_denies_tmp(void** state);
void smoke_roots_system_trees(void** state);
void smoke_roots_planted_link(void** state);
void smoke_roots_other_owner(void** state);
void smoke_roots_swapped_before_launch(void** state);
void smoke_workspace_write_allows(void** state);
void smoke_outside_denied(void** state);
void smoke_json_policy_roots(void** state);
void smoke_links_do_not_escape(void** state);
void smoke_cross_workspace(void** state);
void smoke_git_protected(void** state);
void smoke_carve_outs(void** state);
void smoke_missing_names_protected(void** state);
void smoke_placeholder_concurrent(void** state);
void smoke_placeholder_churn(void** state);
void smoke_placeholder_owner_content(void** state);
void smoke_placeholder_parked(void** state);
void smoke_missing_carve_out_leaves_nothing(void** state);
void smoke_carve_out_through_link(void** state);
void smoke_world_writable_outside(void** state);
void smoke_verify_fails_closed(void** state);
void smoke_path_lookup_as_job(void** state);
void smoke_owner_keeps_access(void** state);
void smoke_no_privileges(void** state);
void smoke_setid_planted(void** state);
void smoke_tools_run(void** state);
void smoke_private_tmp(void** state);
void smoke_network_blocked(void** state);
void smoke_run_hidden(void** state);
void smoke_session_hidden(void** state);
void smoke_loopback_per_workspace(void** state);
void smoke_no_fd_leak(void** state);
void smoke_netns_per_workspace(void** state);
void smoke_fixup_after_noop(void** state);
void smoke_watches_bounded(void** state);
void smoke_private_files(void** state);
void smoke_traverse_own(void** state);
void smoke_hand_back_waits(void** state);
void smoke_ipc_private(void** state);
void smoke_offline_unix_sockets(void** state);
void smoke_state_dir_hidden(void** state);
void smoke_deny_read(void** state);
void smoke_denial_reports(void** state);
void smoke_deny_read_writable_root(void** state);
void smoke_deny_read_hard_link_beside(void** state);
void smoke_deny_read_created_later(void** state);
void smoke_deny_read_rule_bound(void** state);
void smoke_deny_read_reported(void** state);
void smoke_kernel_denials(void** state);
int smoke_kernel_denials_teardown(void** state);
#ifdef CAPSID_FAULT_INJECTION
void smoke_modes_fail_closed(void** state);
#endif
int smoke_hostile_setup(void** state);
int smoke_hostile_teardown(void** state);
void smoke_timeout_kills_all(void** state);
void smoke_memory_bomb(void** state);
void smoke_oom_spares_host(void** state);
void smoke_fork_bomb(void** state);
void smoke_closes_stdout(void** state);
void smoke_floods_stderr(void** state);
void smoke_ignores_sigterm(void** state);
void smoke_daemonises(void** state);
void smoke_tiny_writes(void** state);
void smoke_own_process_group(void** state);

#endif
