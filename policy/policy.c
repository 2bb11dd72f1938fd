/* Policy parsing and resolution. Parsing is pure; resolution canonicalises
 * paths through the per-OS path functions, so a symlinked or relative root
 * cannot name a different directory at launch than it did here. */
#include "policy.h"

#include "denyread.h"
#include "env.h"
#include "json-util.h"
#include "workspace-rule.h"

#include <string.h>

/* Sub-paths of a writable root that jobs may read but never write. */
static const char* const protected_names[] = {".git", ".codex", ".agents"};


static int policy_error(capsid_error_t* err, const char* field,
                        const char* fmt, const char* a, const char* b) {
  return capsid__error_set(err, CAPSID_EPOLICY, CAPSID_STAGE_POLICY, 0, NULL,
                           field, fmt, a, b);
}


static int parse_mode(const char* mode, const char* field,
                      capsid__policy_t* out, capsid_error_t* err) {
  if (strcmp(mode, "read-only") == 0) {
    out->kind = CAPSID__POLICY_READ_ONLY;
    return 0;
  }
  if (strcmp(mode, "workspace-write") == 0) {
    out->kind = CAPSID__POLICY_WORKSPACE_WRITE;
    return 0;
  }
  if (strcmp(mode, "danger-full-access") == 0 ||
      strcmp(mode, "external-sandbox") == 0)
    return policy_error(err, field,
                        "%s: \"%s\" is not supported: capsid always confines "
                        "jobs (use read-only or workspace-write)",
                        field, mode);
  {
    static const char* const presets[] = {"read-only", "workspace-write",
                                           NULL};
    const char* hint = capsid__closest_name(mode, presets);
    if (hint != NULL)
      return capsid__error_set(err, CAPSID_EPOLICY, CAPSID_STAGE_POLICY, 0,
                               NULL, field, "%s: unknown policy \"%s\" "
                               "(did you mean \"%s\"?)", field, mode, hint);
  }
  return policy_error(err, field,
                      "%s: unknown policy \"%s\" (expected read-only, "
                      "workspace-write or a JSON object)",
                      field, mode);
}


static int parse_object(json_t* obj, capsid__policy_t* out,
                        capsid_error_t* err) {
  static const char* const known[] = {
      "mode",          "type",
      "writable_roots", "workspace_roots",
      "network_access", "exclude_tmpdir_env_var",
      "exclude_slash_tmp", "read_only_paths",
      "deny_read",     NULL};
  json_t* mode;
  const char* mode_key = "mode";
  int rc;

  rc = capsid__json_check_fields(obj, known, "policy", CAPSID_EPOLICY,
                                 CAPSID_STAGE_POLICY, err);
  if (rc != 0)
    return rc;
  mode = json_object_get(obj, "mode");
  /* Codex serialises the tag as "type"; accept both spellings. */
  if (mode == NULL) {
    mode = json_object_get(obj, "type");
    mode_key = "type";
  }
  if (mode == NULL)
    return policy_error(err, "policy.mode",
                        "policy.mode is missing (expected \"read-only\" or "
                        "\"workspace-write\")%s%s",
                        "", "");
  if (!json_is_string(mode))
    return policy_error(err, "policy.mode", "policy.%s must be a string, "
                        "not %s", mode_key, capsid__json_type_word(mode));
  rc = parse_mode(json_string_value(mode), "policy.mode", out, err);
  if (rc != 0)
    return rc;

  rc = capsid__json_get_bool(obj, "network_access", "policy.network_access",
                             CAPSID_EPOLICY, CAPSID_STAGE_POLICY,
                             &out->network_access, err);
  if (rc == 0)
    rc = capsid__json_get_bool(obj, "exclude_tmpdir_env_var",
                               "policy.exclude_tmpdir_env_var",
                               CAPSID_EPOLICY, CAPSID_STAGE_POLICY,
                               &out->exclude_tmpdir_env_var, err);
  if (rc == 0)
    rc = capsid__json_get_bool(obj, "exclude_slash_tmp",
                               "policy.exclude_slash_tmp", CAPSID_EPOLICY,
                               CAPSID_STAGE_POLICY, &out->exclude_slash_tmp,
                               err);
  if (rc == 0)
    rc = capsid__json_get_strv(obj, "writable_roots", "policy.writable_roots",
                               CAPSID_EPOLICY, CAPSID_STAGE_POLICY,
                               &out->writable_roots, err);
  /* The alpha Codex CLI called them workspace_roots. */
  if (rc == 0)
    rc = capsid__json_get_strv(obj, "workspace_roots",
                               "policy.workspace_roots", CAPSID_EPOLICY,
                               CAPSID_STAGE_POLICY, &out->writable_roots,
                               err);
  if (rc == 0)
    rc = capsid__json_get_strv(obj, "read_only_paths",
                               "policy.read_only_paths", CAPSID_EPOLICY,
                               CAPSID_STAGE_POLICY, &out->read_only_paths,
                               err);
  if (rc == 0)
    rc = capsid__json_get_strv(obj, "deny_read", "policy.deny_read",
                               CAPSID_EPOLICY, CAPSID_STAGE_POLICY,
                               &out->deny_read, err);
  if (rc == 0)
    rc = capsid__deny_read_check(&out->deny_read, err);
  if (rc != 0)
    return rc;
  if (out->kind == CAPSID__POLICY_READ_ONLY && out->writable_roots.n > 0)
    return policy_error(err, "policy.writable_roots",
                        "policy.writable_roots is not allowed with mode "
                        "\"read-only\"%s%s",
                        "", "");
  return 0;
}


int capsid__policy_parse(const char* text, capsid__policy_t* out,
                         capsid_error_t* err) {
  json_t* root;
  json_error_t jerr;
  int rc;

  memset(out, 0, sizeof(*out));
  if (text == NULL) {
    out->kind = CAPSID__POLICY_WORKSPACE_WRITE;
    return 0;
  }
  while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
    text++;
  /* An empty policy is a mistake (an unset variable in a script), not a
   * request for the default. */
  if (*text == '\0')
    return policy_error(err, "policy", "policy is empty (expected "
                        "read-only, workspace-write or a JSON object)%s%s",
                        "", "");
  if (*text != '{' && *text != '[')
    return parse_mode(text, "policy", out, err);

  root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL)
    return capsid__error_set(err, CAPSID_EPOLICY, CAPSID_STAGE_POLICY, 0,
                             NULL, "policy",
                             "policy is not valid JSON: %s (column %d)",
                             jerr.text, jerr.column);
  if (!json_is_object(root)) {
    json_decref(root);
    return policy_error(err, "policy", "policy must be a JSON object%s%s",
                        "", "");
  }
  rc = parse_object(root, out, err);
  json_decref(root);
  if (rc != 0)
    capsid__policy_free(out);
  return rc;
}


int capsid__policy_from_json(void* json, capsid__policy_t* out,
                             capsid_error_t* err) {
  json_t* value = json;

  memset(out, 0, sizeof(*out));
  if (json_is_string(value))
    return capsid__policy_parse(json_string_value(value), out, err);
  if (!json_is_object(value))
    return policy_error(err, "policy",
                        "policy must be a string or an object, not %s%s",
                        capsid__json_type_word(value), "");
  {
    int rc = parse_object(value, out, err);
    if (rc != 0)
      capsid__policy_free(out);
    return rc;
  }
}


int capsid__policy_copy(capsid__policy_t* dst, const capsid__policy_t* src) {
  int rc;

  memset(dst, 0, sizeof(*dst));
  dst->kind = src->kind;
  dst->network_access = src->network_access;
  dst->exclude_tmpdir_env_var = src->exclude_tmpdir_env_var;
  dst->exclude_slash_tmp = src->exclude_slash_tmp;
  rc = capsid__strv_copy(&dst->writable_roots,
                         (const char* const*)src->writable_roots.v);
  if (rc == 0)
    rc = capsid__strv_copy(&dst->read_only_paths,
                           (const char* const*)src->read_only_paths.v);
  if (rc == 0)
    rc = capsid__strv_copy(&dst->deny_read,
                           (const char* const*)src->deny_read.v);
  if (rc != 0)
    capsid__policy_free(dst);
  return rc;
}


void capsid__policy_free(capsid__policy_t* p) {
  capsid__strv_free(&p->writable_roots);
  capsid__strv_free(&p->read_only_paths);
  capsid__strv_free(&p->deny_read);
}


/* How add_root treats a root: the workspace and extra roots pass the
 * rule of workspace-rule.h; /tmp as the policy adds it is kept as it is;
 * a temp dir from the job's environment passes the rule unless it lies
 * in a shared temporary directory. */
typedef enum { ROOT_CHECKED, ROOT_SYSTEM_TMP, ROOT_ENV_TMP } root_kind_t;

/* Canonicalises one writable root and adds it unless already covered. */
static int add_root(capsid__sandbox_t* sb, const char* base, const char* path,
                    const char* field, root_kind_t kind,
                    capsid_error_t* err) {
  char* canon = NULL;
  int os_error = 0, rc;

  rc = capsid__path_canonical(base, path, &canon, &os_error);
  if (rc != 0)
    return capsid__error_set(err, rc, CAPSID_STAGE_POLICY, os_error, path,
                             field, "%s: cannot use \"%s\" as a writable "
                             "root: %s",
                             field, path, capsid_strerror(rc));
  rc = capsid__path_is_dir(canon, &os_error);
  if (rc != 1) {
    capsid__free(canon);
    return capsid__error_set(err, CAPSID_ENOTDIR, CAPSID_STAGE_POLICY,
                             os_error, path, field,
                             "%s: writable root \"%s\" is not a directory",
                             field, path);
  }
  if (capsid__path_root_len(canon) == strlen(canon)) {
    capsid__free(canon);
    return capsid__error_set(err, CAPSID_EPOLICY, CAPSID_STAGE_POLICY, 0,
                             path, field,
                             "%s: \"%s\" makes the whole filesystem "
                             "writable, which no policy may do",
                             field, path);
  }
  rc = kind == ROOT_SYSTEM_TMP ? 0
                               : capsid__root_check(base, path, canon, field,
                                                    kind == ROOT_ENV_TMP, err);
  if (rc != 0) {
    capsid__free(canon);
    return rc;
  }
  if (capsid__strv_contains(&sb->writable, canon)) {
    capsid__free(canon);
    return 0;
  }
  return capsid__strv_push_owned(&sb->writable, canon);
}


/* A protected name of a root (.git, .codex, .agents) that exists: kept
 * as it is resolved (a link the owner made to their real .git is followed
 * as before). */
static int add_protected(capsid__sandbox_t* sb, const char* path,
                         capsid_error_t* err) {
  char* canon = NULL;
  int os_error = 0, rc;

  rc = capsid__path_canonical_lax(NULL, path, &canon, &os_error);
  if (rc != 0)
    return capsid__error_set(err, rc, CAPSID_STAGE_POLICY, os_error, path,
                             "protected", "cannot resolve the protected "
                             "path \"%s\": %s",
                             path, capsid_strerror(rc));
  if (capsid__strv_contains(&sb->protected_paths, canon)) {
    capsid__free(canon);
    return 0;
  }
  return capsid__strv_push_owned(&sb->protected_paths, canon);
}


/* A path that must not be created by the job: the launcher makes it an
 * empty placeholder directory for the job's life (see policy.h). */
static int add_missing(capsid__sandbox_t* sb, const char* path) {
  if (capsid__strv_contains(&sb->missing_protected, path))
    return 0;
  return capsid__strv_push(&sb->missing_protected, path);
}


/* The carve-out as written, made absolute against the cwd, separators
 * made '/', with empty and "." components dropped. A ".." is refused
 * (CAPSID_EINVAL): it could climb out of the part that exists. */
static int lexical_path(const char* cwd, const char* path, char** out) {
  char* joined;
  char* w;
  const char* c;
  size_t root, len;

  *out = NULL;
  joined = capsid__sprintf("%s", path);
  if (joined == NULL)
    return CAPSID_ENOMEM;
  for (w = joined; *w != '\0'; w++)
    if (capsid__path_is_sep(*w))
      *w = '/';
  if (!capsid__path_is_absolute(joined)) {
    w = capsid__sprintf("%s/%s", cwd, joined);
    capsid__free(joined);
    if (w == NULL)
      return CAPSID_ENOMEM;
    joined = w;
  }
  root = capsid__path_root_len(joined);
  *out = capsid__malloc(strlen(joined) + 1);
  if (*out == NULL) {
    capsid__free(joined);
    return CAPSID_ENOMEM;
  }
  memcpy(*out, joined, root);
  w = *out + root;
  for (c = joined + root; *c != '\0';) {
    len = strcspn(c, "/");
    if (len == 2 && c[0] == '.' && c[1] == '.') {
      capsid__free(joined);
      capsid__free(*out);
      *out = NULL;
      return CAPSID_EINVAL;
    }
    if (len > 0 && !(len == 1 && c[0] == '.')) {
      if (w > *out + root)
        *w++ = '/';
      memcpy(w, c, len);
      w += len;
    }
    c += len;
    while (*c == '/')
      c++;
  }
  *w = '\0';
  capsid__free(joined);
  return 0;
}


/* Declared in policy.h. */
const char* capsid__sandbox_root_of(const capsid__sandbox_t* sb,
                                    const char* path, int beneath) {
  const char* best = NULL;
  size_t i;

  for (i = 0; i < sb->writable.n; i++)
    if (capsid__path_is_within(path, sb->writable.v[i]) &&
        (!beneath || strcmp(path, sb->writable.v[i]) != 0) &&
        (best == NULL || strlen(sb->writable.v[i]) > strlen(best)))
      best = sb->writable.v[i];
  return best;
}


/* Does text end with the components of tail ("a/b" ends "x/a/b", not
 * "xa/b")? */
static int ends_with_components(const char* text, const char* tail) {
  size_t n = strlen(text), t = strlen(tail);

  return t > 0 && n > t && strcmp(text + n - t, tail) == 0 &&
         text[n - t - 1] == '/';
}


/* A carve-out (read_only_paths, -r). A job may have made any link inside
 * a writable root, so a carve-out is never resolved through one: its
 * canonical form must be the path as written (when that lies in a root),
 * or, for a path written through a link of the host's above the roots,
 * end with the same components beneath its root. It must lie within a
 * writable root: outside them everything is read-only already, and a
 * carve-out is created when missing, which must never happen outside. */
static int add_carve_out(capsid__sandbox_t* sb, const char* path,
                         const char* field, capsid_error_t* err) {
  char* canon = NULL;
  char* lexical = NULL;
  char* first = NULL;
  const char* root;
  const char* rel;
  const char* c;
  int os_error = 0, rc;

  rc = lexical_path(sb->cwd, path, &lexical);
  if (rc == 0)
    rc = capsid__path_canonical_lax(sb->cwd, path, &canon, &os_error);
  if (rc != 0) {
    rc = capsid__error_set(err, rc, CAPSID_STAGE_POLICY, os_error, path,
                           field, "%s: cannot resolve read-only path "
                           "\"%s\": %s",
                           field, path,
                           rc == CAPSID_EINVAL ? "\"..\" is not allowed in "
                                                 "a read-only path"
                                               : capsid_strerror(rc));
    goto out;
  }
  root = capsid__sandbox_root_of(sb, canon, 0);
  rel = root == NULL ? canon : canon + strlen(root);
  while (*rel == '/')
    rel++;
  if (strcmp(lexical, canon) != 0 &&
      (capsid__sandbox_root_of(sb, lexical, 0) != NULL ||
       (root != NULL && !ends_with_components(lexical, rel)))) {
    rc = capsid__error_set(err, CAPSID_EPOLICY, CAPSID_STAGE_POLICY, 0, path,
                           field, "%s: read-only path \"%s\" leads through "
                           "a symbolic link (to \"%s\"), which a job may "
                           "have made; name the real path",
                           field, path, canon);
    goto out;
  }
  if (root == NULL) {
    rc = capsid__error_set(err, CAPSID_EPOLICY, CAPSID_STAGE_POLICY, 0, path,
                           field, "%s: read-only path \"%s\" is not inside "
                           "a writable root (outside them nothing is "
                           "writable anyway)",
                           field, path);
    goto out;
  }
  if (!capsid__strv_contains(&sb->protected_paths, canon) &&
      (rc = capsid__strv_push(&sb->protected_paths, canon)) != 0)
    goto out;
  /* What the job must not create is the first component that is
   * missing: a placeholder there keeps the whole missing part out of
   * the job's reach and adds one empty directory to the host, for the
   * job's life only. */
  for (c = rel; *c != '\0'; c += strcspn(c, "/"), c += *c == '/') {
    first = capsid__strndup(canon, (size_t)(c - canon) + strcspn(c, "/"));
    if (first == NULL) {
      rc = CAPSID_ENOMEM;
      goto out;
    }
    if (!capsid__path_exists(first)) {
      rc = add_missing(sb, first);
      goto out;
    }
    /* There, but nothing behind it: a link to a missing target. */
    if (capsid__path_is_dir(first, &os_error) < 0) {
      rc = capsid__error_set(err, CAPSID_EPOLICY, CAPSID_STAGE_POLICY,
                             os_error, path, field,
                             "%s: read-only path \"%s\" leads through "
                             "\"%s\", a symbolic link to a missing "
                             "target, which a job may have made",
                             field, path, first);
      goto out;
    }
    capsid__free(first);
    first = NULL;
  }

out:
  capsid__free(first);
  capsid__free(lexical);
  capsid__free(canon);
  return rc;
}


int capsid__sandbox_resolve(const capsid__policy_t* policy,
                            const capsid__resolve_in_t* in,
                            capsid__sandbox_t* sb, capsid_error_t* err) {
  const char* cwd = in->cwd ? in->cwd : ".";
  const char* tmp;
  char field[64];
  char* candidate;
  size_t i, j, n_roots;
  int os_error = 0, rc;

  memset(sb, 0, sizeof(*sb));
  sb->kind = policy->kind;
  sb->network = in->network >= 0 ? in->network : policy->network_access;

  rc = capsid__path_canonical(NULL, cwd, &sb->cwd, &os_error);
  if (rc != 0) {
    rc = capsid__error_set(err, rc, CAPSID_STAGE_POLICY, os_error, cwd,
                           "cwd", "cwd \"%s\" cannot be used: %s", cwd,
                           capsid_strerror(rc));
    goto fail;
  }
  if (capsid__path_is_dir(sb->cwd, &os_error) != 1) {
    rc = capsid__error_set(err, CAPSID_ENOTDIR, CAPSID_STAGE_POLICY,
                           os_error, cwd, "cwd",
                           "cwd \"%s\" is not a directory", cwd);
    goto fail;
  }

  if (policy->kind == CAPSID__POLICY_READ_ONLY) {
    if (in->extra_writable != NULL && in->extra_writable[0] != NULL) {
      rc = capsid__error_set(err, CAPSID_EPOLICY, CAPSID_STAGE_POLICY, 0,
                             in->extra_writable[0], "writable_roots",
                             "writable_roots cannot be used with the "
                             "read-only policy");
      goto fail;
    }
    /* Nothing becomes writable, but elevated mode would grant traverse
     * on the ancestors: only where the cwd could have been a workspace. */
    {
      capsid_error_t why = {0};
      sb->cwd_untrusted = capsid__root_check(NULL, cwd, sb->cwd, "cwd", 0,
                                             &why) != 0;
      capsid__error_free(&why);
    }
    rc = capsid__deny_read_resolve(sb, &policy->deny_read, err);
    if (rc != 0)
      goto fail;
    return 0;
  }

  /* The workspace itself is always writable under workspace-write (Codex
   * smoke case 23: "write in CWD allowed by design"). */
  rc = add_root(sb, NULL, cwd, "cwd", ROOT_CHECKED, err);
  for (i = 0; rc == 0 && i < policy->writable_roots.n; i++) {
    snprintf(field, sizeof(field), "policy.writable_roots[%zu]", i);
    rc = add_root(sb, sb->cwd, policy->writable_roots.v[i], field,
                  ROOT_CHECKED, err);
  }
  for (i = 0; rc == 0 && in->extra_writable && in->extra_writable[i]; i++) {
    snprintf(field, sizeof(field), "writable_roots[%zu]", i);
    rc = add_root(sb, sb->cwd, in->extra_writable[i], field, ROOT_CHECKED,
                  err);
  }
  if (rc != 0)
    goto fail;

  sb->first_tmp = sb->writable.n;
  tmp = capsid__path_system_tmp();
  if (!policy->exclude_slash_tmp && tmp != NULL &&
      capsid__path_is_dir(tmp, &os_error) == 1)
    rc = add_root(sb, NULL, tmp, "tmp", ROOT_SYSTEM_TMP, err);
  /* The job's own temp directories (TMPDIR; on Windows TMP and TEMP). */
  for (i = 0; rc == 0 && !policy->exclude_tmpdir_env_var &&
              i < CAPSID__ARRAY_SIZE(in->tmpdirs) &&
              capsid__tmp_env_names[i] != NULL;
       i++) {
    tmp = in->tmpdirs[i];
    if (tmp != NULL && *tmp != '\0' && capsid__path_is_dir(tmp, &os_error) == 1)
      rc = add_root(sb, NULL, tmp, capsid__tmp_env_names[i], ROOT_ENV_TMP,
                    err);
  }
  if (rc != 0)
    goto fail;

  /* Protect .git and friends of the workspace and extra roots (not of tmp
   * dirs, which hold no repositories of the user's). */
  n_roots = sb->first_tmp;
  for (i = 0; i < n_roots; i++) {
    for (j = 0; j < CAPSID__ARRAY_SIZE(protected_names); j++) {
      candidate = capsid__sprintf("%s/%s", sb->writable.v[i],
                                  protected_names[j]);
      if (candidate == NULL) {
        rc = CAPSID_ENOMEM;
        goto fail;
      }
      /* One that does not exist yet must not be made by the job either
       * (a job's `git init` plants hooks and core.fsmonitor that run
       * with the owner's next git command). */
      rc = capsid__path_exists(candidate) ? add_protected(sb, candidate, err)
                                          : add_missing(sb, candidate);
      capsid__free(candidate);
      if (rc != 0)
        goto fail;
    }
  }
  for (i = 0; i < policy->read_only_paths.n; i++) {
    snprintf(field, sizeof(field), "policy.read_only_paths[%zu]", i);
    rc = add_carve_out(sb, policy->read_only_paths.v[i], field, err);
    if (rc != 0)
      goto fail;
  }
  for (i = 0; in->extra_read_only && in->extra_read_only[i]; i++) {
    snprintf(field, sizeof(field), "read_only_paths[%zu]", i);
    rc = add_carve_out(sb, in->extra_read_only[i], field, err);
    if (rc != 0)
      goto fail;
  }
  rc = capsid__deny_read_resolve(sb, &policy->deny_read, err);
  if (rc != 0)
    goto fail;
  return 0;

fail:
  capsid__sandbox_free(sb);
  return rc;
}


void capsid__sandbox_free(capsid__sandbox_t* sb) {
  capsid__free(sb->cwd);
  sb->cwd = NULL;
  capsid__strv_free(&sb->writable);
  capsid__strv_free(&sb->protected_paths);
  capsid__strv_free(&sb->missing_protected);
  capsid__strv_free(&sb->deny_read);
}
