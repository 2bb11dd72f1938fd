/* deny_read: what a job must not read, even where its policy lets it read
 * everything else. Expansion happens once, at resolution: a glob names
 * the files that exist when the job starts, and the launcher hides each
 * (sandbox/linux/denyread-linux.c, sandbox/win/denyread-win.c). The path
 * hidden is the canonical one, so a link to a denied file leads to the
 * hidden file and a denied link hides its target. */
#include "denyread.h"

#include <stdio.h>
#include <string.h>

/* Where credentials live on a developer's machine: ssh keys, cloud and
 * cluster logins, registry and forge tokens, password stores and the
 * desktop keyrings. */
static const char* const credentials[] = {
    "~/.ssh",          "~/.aws",
    "~/.azure",        "~/.config/gcloud",
    "~/.netrc",        "~/.docker/config.json",
    "~/.kube",         "~/.gnupg",
    "~/.local/share/keyrings", "~/.password-store",
    "~/.git-credentials", "~/.config/gh/hosts.yml",
    NULL};

/* Opt-in, as secrets beside the code are often read by its tests too:
 * dotenv files of the workspace and of its direct subdirectories. */
static const char* const workspace_env[] = {"./.env*", "./*/.env*", NULL};

static const struct {
  const char* name;
  const char* const* paths;
} presets[] = {{"@credentials", credentials},
               {"@workspace-env", workspace_env}};


const char* const* capsid__deny_read_preset(const char* name) {
  size_t i;

  for (i = 0; i < CAPSID__ARRAY_SIZE(presets); i++)
    if (strcmp(presets[i].name, name) == 0)
      return presets[i].paths;
  return NULL;
}


int capsid__path_within_any(const capsid__strv_t* sv, const char* path) {
  size_t i;

  for (i = 0; i < sv->n; i++)
    if (capsid__path_is_within(path, sv->v[i]))
      return 1;
  return 0;
}


int capsid__deny_read_check(const capsid__strv_t* deny,
                            capsid_error_t* err) {
  size_t i;

  for (i = 0; i < deny->n; i++)
    if (deny->v[i][0] == '@' && capsid__deny_read_preset(deny->v[i]) == NULL)
      return capsid__error_set(err, CAPSID_EPOLICY, CAPSID_STAGE_POLICY, 0,
                               NULL, "policy.deny_read",
                               "policy.deny_read: unknown preset \"%s\" "
                               "(expected @credentials or @workspace-env)",
                               deny->v[i]);
  return 0;
}


int capsid__deny_read_refuse(const capsid__sandbox_t* sb, const char* why,
                             capsid_error_t* err) {
  if (sb->deny_read.n == 0)
    return 0;
  return capsid__error_set(err, CAPSID_ENOTSUP, CAPSID_STAGE_POLICY, 0,
                           sb->deny_read.v[0], "policy.deny_read",
                           "policy.deny_read cannot be enforced %s; the "
                           "job was not run",
                           why);
}


/* The pattern made absolute: "~" is the home, a relative one hangs off
 * the cwd. NULL with *rc set when no home is known for "~". */
static char* absolute_pattern(const capsid__sandbox_t* sb, const char* home,
                              const char* pattern, int* rc) {
  char* out;

  *rc = 0;
  if (pattern[0] == '~' && (pattern[1] == '\0' || pattern[1] == '/' ||
                            capsid__path_is_sep(pattern[1]))) {
    if (home == NULL) {
      *rc = CAPSID_ENOENT;
      return NULL;
    }
    out = capsid__sprintf("%s%s", home, pattern + 1);
  } else if (capsid__path_is_absolute(pattern)) {
    out = capsid__sprintf("%s", pattern);
  } else {
    while (pattern[0] == '.' && capsid__path_is_sep(pattern[1]))
      pattern += 2;
    out = capsid__sprintf("%s/%s", sb->cwd, pattern);
  }
  if (out == NULL)
    *rc = CAPSID_ENOMEM;
  return out;
}


/* One match: hidden by its canonical path unless it holds what the job
 * must reach (the cwd, a writable root). A dangling link hides nothing:
 * there is nothing to read through it. */
static int add_match(capsid__sandbox_t* sb, const char* match,
                     const char* field, const char* written,
                     capsid_error_t* err) {
  char* canon = NULL;
  int os_error = 0, rc;
  size_t i;

  if (capsid__path_canonical(NULL, match, &canon, &os_error) != 0)
    return 0;
  if (capsid__path_is_within(sb->cwd, canon)) {
    rc = capsid__error_set(err, CAPSID_EPOLICY, CAPSID_STAGE_POLICY, 0,
                           written, field, "%s: \"%s\" holds the job's "
                           "working directory \"%s\", which it must read",
                           field, written, sb->cwd);
    goto fail;
  }
  for (i = 0; i < sb->writable.n; i++)
    if (capsid__path_is_within(sb->writable.v[i], canon)) {
      rc = capsid__error_set(err, CAPSID_EPOLICY, CAPSID_STAGE_POLICY, 0,
                             written, field, "%s: \"%s\" holds the "
                             "writable root \"%s\"",
                             field, written, sb->writable.v[i]);
      goto fail;
    }
  for (i = 0; i < sb->deny_read.n; i++)
    if (capsid__path_is_within(canon, sb->deny_read.v[i])) {
      capsid__free(canon);
      return 0;
    }
  if (sb->deny_read.n == CAPSID__DENY_READ_MAX) {
    rc = capsid__error_set(err, CAPSID_EPOLICY, CAPSID_STAGE_POLICY, 0,
                           written, field, "%s: \"%s\" makes deny_read "
                           "name more than %d paths; name their directory "
                           "instead",
                           field, written, CAPSID__DENY_READ_MAX);
    goto fail;
  }
  return capsid__strv_push_owned(&sb->deny_read, canon);

fail:
  capsid__free(canon);
  return rc;
}


static int add_pattern(capsid__sandbox_t* sb, const char* home,
                       const char* pattern, const char* field,
                       capsid_error_t* err) {
  capsid__strv_t matches = {0};
  char* abs;
  size_t i;
  int rc;

  abs = absolute_pattern(sb, home, pattern, &rc);
  if (rc == CAPSID_ENOENT)
    return capsid__error_set(err, CAPSID_EPOLICY, CAPSID_STAGE_POLICY, 0,
                             pattern, field, "%s: \"%s\" needs a home "
                             "directory, and none is known (set HOME)",
                             field, pattern);
  if (rc != 0)
    return rc;
  rc = capsid__deny_glob(abs, &matches);
  for (i = 0; rc == 0 && i < matches.n; i++)
    rc = add_match(sb, matches.v[i], field, pattern, err);
  capsid__strv_free(&matches);
  capsid__free(abs);
  return rc;
}


int capsid__deny_read_resolve(capsid__sandbox_t* sb,
                              const capsid__strv_t* deny,
                              capsid_error_t* err) {
  const char* const* preset;
  char field[64];
  char* home = NULL;
  size_t i, j;
  int rc = 0;

  if (deny->n == 0)
    return 0;
  home = capsid__deny_home();
  for (i = 0; rc == 0 && i < deny->n; i++) {
    snprintf(field, sizeof(field), "policy.deny_read[%zu]", i);
    preset = deny->v[i][0] == '@' ? capsid__deny_read_preset(deny->v[i])
                                  : NULL;
    if (preset == NULL) {
      rc = add_pattern(sb, home, deny->v[i], field, err);
      continue;
    }
    for (j = 0; rc == 0 && preset[j] != NULL; j++)
      rc = add_pattern(sb, home, preset[j], field, err);
  }
  capsid__free(home);
  return rc;
}
