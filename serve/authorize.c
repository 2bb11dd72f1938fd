/* What a client of a shared server may ask for: nothing it could not do
 * without the server.
 *
 *  - Paths: the cwd, every writable root (the job's and its policy's) and
 *    every temporary directory the job's environment names are resolved
 *    and checked with the client's own credentials (serve__check_paths):
 *    the cwd must be reachable and readable by the client, every root the
 *    job may write must be writable by it. Another user's job then gets
 *    the canonical paths that were checked, never the names it wrote.
 *    The server's own user (or root) could run the job without the
 *    server: its paths go on as written, so the library's rules and
 *    messages are those of a local run.
 *  - Identity: a job of the server's own user (or of root) runs as the
 *    server would run it. A job of any other user must run under its
 *    workspace's own identity (elevated mode, the server running as
 *    root): unprivileged and landlock-only jobs run with the server's
 *    uid, which would hand the client the server's access. Such a job's
 *    writable roots must also be owned by the client, the library's
 *    invoking-user rule applied to the client; and it does not inherit
 *    the server's environment. */
#include "serve-int.h"

#include "env.h"
#include "policy.h"

#include <stdio.h>
#include <string.h>

/* The job's environment when the server's own must not leak into it. */
#define SERVE_DEFAULT_PATH "PATH=/usr/local/bin:/usr/bin:/bin"


static int refuse(capsid_error_t* err, const char* field, const char* fmt,
                  const char* arg) {
  return capsid__error_set(err, CAPSID_EPERM, CAPSID_STAGE_POLICY, 0, NULL,
                           field, fmt, arg);
}


/* A path the server resolves must not depend on the server's working
 * directory, which the client does not share. */
static int need_absolute(const char* path, const char* field,
                         capsid_error_t* err) {
  /* An empty one is the library's to refuse, with its own words. */
  if (path != NULL &&
      (path[0] == '\0' || capsid__path_is_absolute_written(path)))
    return 0;
  return capsid__error_set(err, CAPSID_ESPEC, CAPSID_STAGE_SPEC, 0, path,
                           field, "\"%s\" must be an absolute path: the "
                           "server does not share the client's working "
                           "directory",
                           field);
}


/* The value of NAME in a NAME=VALUE list, or NULL. */
static const char* env_value(const capsid__strv_t* env, const char* name) {
  size_t i, n = strlen(name);

  for (i = 0; i < env->n; i++)
    if (strncmp(env->v[i], name, n) == 0 && env->v[i][n] == '=')
      return env->v[i] + n + 1;
  return NULL;
}


/* Who may connect: the server's own user, root, the allowed users and
 * the members of the allowed groups (ids from serve/<os>/peer-<os>.c). */
int serve__peer_allowed(const serve_t* srv, const serve_peer_t* peer) {
  size_t i;
  int g;

  if (peer->uid == srv->self_uid || peer->uid == 0)
    return 1;
  for (i = 0; i < srv->opt.n_allow_uids; i++)
    if (srv->opt.allow_uids[i] == peer->uid)
      return 1;
  for (i = 0; i < srv->opt.n_allow_gids; i++) {
    if (srv->opt.allow_gids[i] == peer->gid)
      return 1;
    for (g = 0; g < peer->n_groups; g++)
      if (srv->opt.allow_gids[i] == peer->groups[g])
        return 1;
  }
  return 0;
}


static int check_mode(serve_t* srv, const serve_peer_t* peer,
                      scale_jobline_t* jl, capsid_error_t* err) {
  if (peer->uid == srv->self_uid || peer->uid == 0)
    return 0;
  if (srv->self_uid != 0)
    return refuse(err, "mode", "%s", "a server that does not run as root "
                  "runs jobs only for its own user: another user's job "
                  "would run with the server's uid");
  if (jl->spec.mode == CAPSID_MODE_UNPRIVILEGED)
    return refuse(err, "mode", "%s", "another user's job runs only in "
                  "elevated mode on a root server: an unprivileged job "
                  "would run as root");
  /* auto would fall back to a mode that runs as root. */
  jl->spec.mode = CAPSID_MODE_ELEVATED;
  return 0;
}


/* A job of another user sees only what it sent, plus a PATH. */
static int own_environment(scale_jobline_t* jl) {
  if (jl->spec.env_mode == CAPSID_ENV_REPLACE)
    return 0;
  jl->spec.env_mode = CAPSID_ENV_REPLACE;
  if (env_value(&jl->env, "PATH") == NULL &&
      capsid__strv_push(&jl->env, SERVE_DEFAULT_PATH) != 0)
    return CAPSID_ENOMEM;
  jl->spec.env = (const char* const*)jl->env.v;
  return 0;
}


int serve__authorize(serve_t* srv, const serve_peer_t* peer,
                     scale_jobline_t* jl, capsid_error_t* err) {
  const capsid__policy_t* policy = &jl->policy;
  serve_path_t* paths = NULL;
  char fields[64][64];
  size_t n = 0, i, n_policy, first_policy;
  int foreign = peer->uid != srv->self_uid && peer->uid != 0;
  int rc;

  /* A policy that did not parse fails the job with its own error. */
  if (jl->policy_error.code != 0)
    return 0;
  if ((rc = check_mode(srv, peer, jl, err)) != 0)
    goto done;
  if (foreign && (rc = own_environment(jl)) != 0)
    goto done;
  if ((rc = need_absolute(jl->cwd, "cwd", err)) != 0)
    goto done;
  n_policy = policy->writable_roots.n;
  if (1 + jl->writable_roots.n + n_policy + 3 > CAPSID__ARRAY_SIZE(fields)) {
    rc = capsid__error_set(err, CAPSID_ESPEC, CAPSID_STAGE_SPEC, 0, NULL,
                           "writable_roots", "a job of a shared server may "
                           "have at most %zu writable roots",
                           CAPSID__ARRAY_SIZE(fields) - 4);
    goto done;
  }
  paths = capsid__calloc(CAPSID__ARRAY_SIZE(fields), sizeof(*paths));
  if (paths == NULL) {
    rc = CAPSID_ENOMEM;
    goto done;
  }
  /* The workspace: written under workspace-write, read otherwise. */
  paths[n].given = jl->cwd;
  paths[n].field = "cwd";
  paths[n].want_write = policy->kind == CAPSID__POLICY_WORKSPACE_WRITE;
  paths[n].want_owner = foreign && paths[n].want_write;
  n++;
  for (i = 0; i < jl->writable_roots.n; i++, n++) {
    snprintf(fields[n], sizeof(fields[n]), "writable_roots[%zu]", i);
    paths[n].given = jl->writable_roots.v[i];
    paths[n].field = fields[n];
    paths[n].want_write = 1;
    paths[n].want_owner = foreign;
  }
  first_policy = n;
  for (i = 0; i < n_policy; i++, n++) {
    snprintf(fields[n], sizeof(fields[n]), "policy.writable_roots[%zu]", i);
    paths[n].given = policy->writable_roots.v[i];
    paths[n].field = fields[n];
    paths[n].want_write = 1;
    paths[n].want_owner = foreign;
  }
  /* Temporary directories from the job's own environment become
   * writable roots too (shared ones like /tmp pass: the client can write
   * them; a directory of someone else's inside them does not). */
  if (policy->kind == CAPSID__POLICY_WORKSPACE_WRITE &&
      !policy->exclude_tmpdir_env_var)
    for (i = 0; i < CAPSID__TMP_ENV_MAX && capsid__tmp_env_names[i]; i++) {
      const char* value = env_value(&jl->env, capsid__tmp_env_names[i]);
      if (value == NULL || value[0] == '\0')
        continue;
      snprintf(fields[n], sizeof(fields[n]), "env.%s",
               capsid__tmp_env_names[i]);
      paths[n].given = value;
      paths[n].field = fields[n];
      paths[n].want_write = 1;
      if ((rc = need_absolute(value, fields[n], err)) != 0)
        goto done;
      n++;
    }
  rc = serve__check_paths(peer, paths, n, !foreign, err);
  if (rc != 0 || !foreign)
    goto done; /* the owner's paths go to the library as written: its
                  own rules (links, system trees) and messages apply as
                  in a local run */

  /* The job gets what was checked. */
  capsid__free(jl->cwd);
  jl->cwd = capsid__strdup(paths[0].canon);
  for (i = 0; i < jl->writable_roots.n; i++) {
    capsid__free(jl->writable_roots.v[i]);
    jl->writable_roots.v[i] = capsid__strdup(paths[1 + i].canon);
    if (jl->writable_roots.v[i] == NULL)
      rc = CAPSID_ENOMEM;
  }
  for (i = 0; i < n_policy; i++) {
    capsid__free(jl->policy.writable_roots.v[i]);
    jl->policy.writable_roots.v[i] = capsid__strdup(paths[first_policy + i].canon);
    if (jl->policy.writable_roots.v[i] == NULL)
      rc = CAPSID_ENOMEM;
  }
  if (jl->cwd == NULL)
    rc = CAPSID_ENOMEM;
  jl->spec.cwd = jl->cwd;

done:
  for (i = 0; paths != NULL && i < n; i++)
    capsid__free(paths[i].canon);
  capsid__free(paths);
  if (rc == CAPSID_ENOMEM && err->code == 0)
    capsid__error_set(err, rc, CAPSID_STAGE_SPEC, 0, NULL, NULL, NULL);
  return rc;
}
