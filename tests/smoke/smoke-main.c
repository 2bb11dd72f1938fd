/* capsid smoke suite. Usage: test-smoke VARIANT, where VARIANT is
 *   unprivileged   namespaces + Landlock + seccomp (the default on Linux)
 *   landlock-only  the fallback where user namespaces are blocked, forced
 *                  here (needs a build with failure injection)
 *   elevated       per-workspace identities and ACLs (needs root): runs
 *                  `capsid setup` into a private state directory first and
 *                  uninstalls after
 * Cases a variant does not claim are not run for it; docs/confinement-
 * linux.md lists them. */
#include "smoke.h"

#include "confine-linux.h"
#include "system.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ALL 0
#define NEEDS_MOUNTS 1 /* protected binds, private /tmp, hidden /run */
#define NEEDS_NETNS 2  /* a loopback of the job's own */
#define NEEDS_IDS 4    /* per-workspace identities (elevated only) */

typedef struct smoke_case_s {
  struct CMUnitTest test;
  int needs;
} smoke_case_t;

#define CASE(fn, needs) {cmocka_unit_test(fn), needs}

static const smoke_case_t cases[] = {
    CASE(smoke_read_only_denies_cwd, ALL),
    CASE(smoke_read_only_denies_tmp, ALL),
    CASE(smoke_workspace_write_allows, ALL),
    CASE(smoke_outside_denied, ALL),
    CASE(smoke_json_policy_roots, ALL),
    CASE(smoke_links_do_not_escape, ALL),
    CASE(smoke_cross_workspace, ALL),
    CASE(smoke_git_protected, NEEDS_MOUNTS),
    CASE(smoke_carve_outs, NEEDS_MOUNTS),
    CASE(smoke_missing_names_protected, NEEDS_MOUNTS),
    CASE(smoke_placeholder_concurrent, NEEDS_MOUNTS),
    CASE(smoke_placeholder_churn, NEEDS_MOUNTS),
    CASE(smoke_placeholder_owner_content, NEEDS_MOUNTS),
    CASE(smoke_placeholder_parked, NEEDS_MOUNTS),
    CASE(smoke_missing_carve_out_leaves_nothing, ALL),
    CASE(smoke_carve_out_through_link, ALL),
    CASE(smoke_world_writable_outside, ALL),
    CASE(smoke_owner_keeps_access, ALL),
    CASE(smoke_no_privileges, ALL),
    CASE(smoke_setid_planted, ALL),
    CASE(smoke_tools_run, ALL),
    CASE(smoke_private_tmp, NEEDS_MOUNTS),
    CASE(smoke_network_blocked, ALL),
    CASE(smoke_run_hidden, NEEDS_MOUNTS),
    CASE(smoke_session_hidden, NEEDS_MOUNTS),
    CASE(smoke_loopback_per_workspace, NEEDS_NETNS),
#ifdef CAPSID_FAULT_INJECTION /* it skips restrictions by failure injection */
    CASE(smoke_verify_fails_closed, ALL),
#endif
    CASE(smoke_path_lookup_as_job, ALL),
    CASE(smoke_no_fd_leak, ALL),
    CASE(smoke_netns_per_workspace, NEEDS_NETNS),
    CASE(smoke_fixup_after_noop, ALL),
    CASE(smoke_watches_bounded, ALL),
    CASE(smoke_private_files, NEEDS_IDS),
    CASE(smoke_traverse_own, NEEDS_IDS),
    CASE(smoke_hand_back_waits, NEEDS_IDS),
    CASE(smoke_ipc_private, ALL),
    CASE(smoke_offline_unix_sockets, ALL),
    CASE(smoke_state_dir_hidden, NEEDS_MOUNTS),
    CASE(smoke_deny_read, ALL),
    CASE(smoke_denial_reports, ALL),
    CASE(smoke_deny_read_writable_root, ALL),
    CASE(smoke_deny_read_hard_link_beside, ALL),
    CASE(smoke_deny_read_created_later, ALL),
    CASE(smoke_deny_read_rule_bound, ALL),
    CASE(smoke_deny_read_reported, ALL),
    {cmocka_unit_test_teardown(smoke_kernel_denials,
                               smoke_kernel_denials_teardown), ALL},
#ifdef CAPSID_FAULT_INJECTION /* it forces features off by failure injection */
    CASE(smoke_modes_fail_closed, ALL),
#endif
    CASE(smoke_roots_system_trees, ALL),
    CASE(smoke_roots_planted_link, ALL),
    CASE(smoke_roots_other_owner, ALL),
    CASE(smoke_roots_swapped_before_launch, ALL),
};

static const struct CMUnitTest hostile[] = {
    cmocka_unit_test(smoke_timeout_kills_all),
    cmocka_unit_test(smoke_memory_bomb),
    cmocka_unit_test(smoke_oom_spares_host),
    cmocka_unit_test(smoke_fork_bomb),
    cmocka_unit_test(smoke_closes_stdout),
    cmocka_unit_test(smoke_floods_stderr),
    cmocka_unit_test(smoke_ignores_sigterm),
    cmocka_unit_test(smoke_daemonises),
    cmocka_unit_test(smoke_tiny_writes),
    cmocka_unit_test(smoke_own_process_group),
};


/* setup/uninstall report: only what failed, so a failure says what. */
static void report_failures(void* data, const char* feature, int ok,
                            const char* detail) {
  (void)data;
  if (!ok)
    fprintf(stderr, "  -- %s: %s\n", feature, detail);
}


int main(int argc, char** argv) {
  struct CMUnitTest run[CAPSID__ARRAY_SIZE(cases)];
  size_t i, n = 0;
  int supported = NEEDS_MOUNTS | NEEDS_NETNS, failed;

  smoke_variant = argc > 1 ? argv[1] : "unprivileged";
  if (strcmp(smoke_variant, "unprivileged") == 0) {
    smoke_mode = smoke_mode_ran = CAPSID_MODE_UNPRIVILEGED;
    if (!capsid__userns_available()) {
      return test_may_skip("user namespaces are blocked on this host, so "
                           "unprivileged mode falls back to landlock-only")
                 ? TEST_SKIPPED
                 : 1;
    }
  } else if (strcmp(smoke_variant, "landlock-only") == 0) {
#ifdef CAPSID_FAULT_INJECTION
    char state[4200];
    capsid__userns_force_blocked(1);
    /* What `auto` falls back to; asked for by name, unprivileged is now
     * refused here (smoke_modes_fail_closed). A state directory that does
     * not exist keeps auto from choosing elevated mode as root. */
    snprintf(state, sizeof(state), "%s/no-state", smoke_dir());
    setenv("CAPSID_STATE_DIR", state, 1);
    smoke_mode = CAPSID_MODE_AUTO;
    smoke_mode_ran = CAPSID_MODE_LANDLOCK_ONLY;
    supported = 0;
#else
    return test_may_skip("forcing the landlock-only fallback needs a build "
                         "with CAPSID_FAULT_INJECTION (Debug)")
               ? TEST_SKIPPED
               : 1;
#endif
  } else if (strcmp(smoke_variant, "elevated") == 0) {
    capsid_error_t err = {0};
    if (geteuid() != 0) {
      return test_may_skip("elevated mode needs root (CI runs this as root)")
                 ? TEST_SKIPPED
                 : 1;
    }
    /* A private state directory: jobs of other tests in auto mode keep
     * seeing an unset-up machine. */
    char state[4200];
    snprintf(state, sizeof(state), "%s/state", smoke_dir());
    setenv("CAPSID_STATE_DIR", state, 1);
    if (capsid__system_setup(report_failures, NULL, &err) != 0) {
      fprintf(stderr, "setup failed: %s\n", err.message);
      return 1;
    }
    smoke_mode = smoke_mode_ran = CAPSID_MODE_ELEVATED;
    supported |= NEEDS_IDS;
  } else {
    fprintf(stderr, "test-smoke: unknown variant '%s'\n", smoke_variant);
    return 2;
  }
  if (capsid__landlock_abi() <= 0) {
    return test_may_skip("Landlock is not enabled in this kernel")
               ? TEST_SKIPPED
               : 1;
  }
  for (i = 0; i < CAPSID__ARRAY_SIZE(cases); i++)
    if ((cases[i].needs & ~supported) == 0)
      run[n++] = cases[i].test;
  failed = _cmocka_run_group_tests(smoke_variant, run, n, NULL, NULL);
  failed += cmocka_run_group_tests_name("hostile", hostile,
                                        smoke_hostile_setup,
                                        smoke_hostile_teardown);
  if (smoke_mode == CAPSID_MODE_ELEVATED) {
    capsid_error_t err = {0};
    if (capsid__system_uninstall(report_failures, NULL, &err) != 0) {
      fprintf(stderr, "uninstall failed: %s\n", err.message);
      failed++;
    }
  }
  return failed;
}
