/* Sandbox policy: parsing (pure) and resolution against a cwd (touches the
 * filesystem only to canonicalise paths). */
#ifndef CAPSID_POLICY_H
#define CAPSID_POLICY_H

#include "capsid-common.h"
#include "path.h"

typedef enum {
  CAPSID__POLICY_READ_ONLY = 1,
  CAPSID__POLICY_WORKSPACE_WRITE = 2
} capsid__policy_kind_t;

/* A policy as written: paths not yet resolved. */
typedef struct capsid__policy_s {
  capsid__policy_kind_t kind;
  int network_access;
  int exclude_tmpdir_env_var;
  int exclude_slash_tmp;
  capsid__strv_t writable_roots;
  capsid__strv_t read_only_paths;
  /* Paths and globs the job must not read, as written: absolute, "~/..."
   * (the invoking user's home) or relative to the cwd; "@credentials"
   * and "@workspace-env" name presets (policy/denyread.c). */
  capsid__strv_t deny_read;
} capsid__policy_t;

/* Parses a preset name or a JSON object. On error fills err (stage POLICY,
 * field "policy" or "policy.<name>") and returns CAPSID_EPOLICY. field_prefix
 * names the policy in messages ("policy" or "--policy"). */
int capsid__policy_parse(const char* text, capsid__policy_t* out,
                         capsid_error_t* err);
void capsid__policy_free(capsid__policy_t* p);
/* A deep copy of src, so a policy parsed once (a batch line's) can be
 * handed to a job that outlives the line. */
int capsid__policy_copy(capsid__policy_t* dst, const capsid__policy_t* src);

/* The same from a JSON value of a batch line (a preset string or an
 * object); json_t* is passed as void* to keep jansson out of this header. */
int capsid__policy_from_json(void* value, capsid__policy_t* out,
                             capsid_error_t* err);

/* What a job may do, with every path canonical and absolute. */
typedef struct capsid__sandbox_s {
  capsid__policy_kind_t kind;
  int network;
  char* cwd;
  /* Roots the job may write beneath: for workspace-write the cwd first,
   * then extra roots, then tmp dirs. Empty for read-only. */
  capsid__strv_t writable;
  /* Index in writable where the tmp dirs start. */
  size_t first_tmp;
  /* Paths inside writable roots that stay read-only: .git, .codex and
   * .agents of each root where they exist, then the carve-outs (which
   * lie inside a writable root, reached through no symbolic link). */
  capsid__strv_t protected_paths;
  /* What does not exist yet and the job must not create: .git, .codex
   * and .agents of each root where they are missing, and the first
   * missing component of each missing carve-out. The launcher makes each
   * an empty placeholder directory for the job's life (never through a
   * link), protects it like an existing one and removes it after the job
   * if it is still empty; where it cannot protect (landlock-only) it
   * makes nothing. Not part of protected_paths: the ACL plan does not
   * name them, so placeholders that come and go leave nothing in it. */
  capsid__strv_t missing_protected;
  /* Read-only policy: 1 when the cwd fails the writable-root rule
   * (policy/workspace-rule.h: a system tree, another user's directory, a
   * path through a link a job could have made). Elevated mode then grants
   * the workspace's identity nothing on the cwd's ancestors, so a
   * read-only job cannot open a traverse path into /root or a 0700 tree;
   * it reaches such a cwd only as far as plain modes let it. */
  int cwd_untrusted;
  /* What the job must not read: every existing path the policy's
   * deny_read names or matches, canonical (a link is followed to what it
   * points at), none holding the cwd or a writable root. The launcher
   * hides each behind an empty, unreadable mount; where it cannot
   * (landlock-only) it refuses the job. */
  capsid__strv_t deny_read;
} capsid__sandbox_t;

typedef struct capsid__resolve_in_s {
  const char* cwd;                   /* as given; NULL means "." */
  const char* const* extra_writable; /* from the job spec */
  const char* const* extra_read_only;
  int network;        /* -1: policy; 0/1 override */
  /* The job's values of capsid__tmp_env_names (base/env.h), in that
   * order; NULL where unset. */
  const char* tmpdirs[4];
} capsid__resolve_in_t;

int capsid__sandbox_resolve(const capsid__policy_t* policy,
                            const capsid__resolve_in_t* in,
                            capsid__sandbox_t* out, capsid_error_t* err);
void capsid__sandbox_free(capsid__sandbox_t* sb);
/* The innermost writable root of sb holding path (path itself when it is
 * a root, unless beneath is set), or NULL. */
const char* capsid__sandbox_root_of(const capsid__sandbox_t* sb,
                                    const char* path, int beneath);

#endif
