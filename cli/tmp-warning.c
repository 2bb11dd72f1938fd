/* The warning for a workspace-write job whose workspace lies under a
 * temporary directory the policy grants (/tmp, $TMPDIR): the jobs of other
 * workspaces under it get it writable too, so they can change this one
 * (docs/security.md, "What is not guaranteed"). */
#include "cli.h"

#include "env.h"
#include "policy.h"

#include <stdio.h>
#include <string.h>

/* Workspaces warned about already: once per workspace per process. */
static capsid__strv_t warned;


static void warn(const char* workspace, const char* tmp, int slash_tmp) {
  if (capsid__strv_contains(&warned, workspace) ||
      capsid__strv_push(&warned, workspace) != 0)
    return;
  fprintf(stderr,
          "capsid: warning: the workspace %s is under %s%s%s, which "
          "workspace-write lets jobs write: a job of another workspace "
          "there can change it. Move the workspace out of %s, or give the "
          "jobs \"%s\":true in their policy.\n",
          workspace, slash_tmp ? "" : "$TMPDIR (", tmp,
          slash_tmp ? "" : ")", tmp,
          slash_tmp ? "exclude_slash_tmp" : "exclude_tmpdir_env_var");
}


/* policy is spec's, parsed. */
static void warn_shared_tmp(const capsid_job_spec_t* spec,
                            const capsid__policy_t* policy) {
  capsid__resolve_in_t in;
  capsid__sandbox_t sb;
  capsid__strv_t envp = {0};
  capsid_error_t err;
  char* slash_tmp = NULL;
  size_t bad = 0, i, t;
  int os_error = 0;

  memset(&err, 0, sizeof(err));
  memset(&sb, 0, sizeof(sb));
  if (policy->kind != CAPSID__POLICY_WORKSPACE_WRITE ||
      capsid__env_build(spec->env_mode, spec->env, &envp, &bad) != 0)
    goto out;
  memset(&in, 0, sizeof(in));
  in.cwd = spec->cwd;
  in.extra_writable = spec->writable_roots;
  in.network = -1;
  for (i = 0; i < CAPSID__ARRAY_SIZE(in.tmpdirs) &&
              capsid__tmp_env_names[i] != NULL;
       i++)
    in.tmpdirs[i] = capsid__env_get(&envp, capsid__tmp_env_names[i]);
  if (capsid__sandbox_resolve(policy, &in, &sb, &err) != 0)
    goto out_env;
  if (capsid__path_system_tmp() != NULL)
    capsid__path_canonical(NULL, capsid__path_system_tmp(), &slash_tmp,
                           &os_error);
  for (i = 0; i < sb.first_tmp; i++)
    for (t = sb.first_tmp; t < sb.writable.n; t++)
      if (capsid__path_is_within(sb.writable.v[i], sb.writable.v[t]))
        warn(sb.writable.v[i], sb.writable.v[t],
             slash_tmp != NULL && strcmp(slash_tmp, sb.writable.v[t]) == 0);
  capsid__free(slash_tmp);
  capsid__sandbox_free(&sb);
out_env:
  capsid__strv_free(&envp);
out:
  capsid__error_free(&err);
}


void cli_warn_shared_tmp(const capsid_job_spec_t* spec) {
  capsid__policy_t policy;
  capsid_error_t err;

  memset(&err, 0, sizeof(err));
  /* A spec capsid will refuse gets its error from the job, not here. */
  if (capsid__policy_parse(spec->policy, &policy, &err) == 0)
    warn_shared_tmp(spec, &policy);
  capsid__policy_free(&policy);
  capsid__error_free(&err);
}


void cli_warn_shared_tmp_parsed(const capsid_job_spec_t* spec,
                                const struct capsid__policy_s* policy,
                                const capsid_error_t* policy_error) {
  if (policy_error->code == 0)
    warn_shared_tmp(spec, policy);
}
