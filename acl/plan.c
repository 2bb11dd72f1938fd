/* The ACL plan: from a resolved sandbox and the workspace's identities to
 * a list of targets (path, recursion, entries). Pure data: nothing here
 * touches the filesystem, so tests can assert exactly what would be done.
 */
#include "acl.h"

#include <string.h>

typedef struct builder_s {
  capsid__acl_plan_t* plan;
  size_t cap;
} builder_t;


static int add_target(builder_t* b, capsid__acl_target_kind_t kind,
                      const char* path, int recursive, int optional,
                      const capsid__acl_entry_t* entries, size_t n) {
  capsid__acl_plan_t* p = b->plan;
  capsid__acl_target_t* t;
  size_t i;

  for (i = 0; i < p->n_targets; i++)
    if (strcmp(p->targets[i].path, path) == 0 && p->targets[i].kind == kind)
      return 0; /* an ancestor shared by two roots, a repeated deny */
  if (p->n_targets == b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 8;
    void* v = capsid__realloc(p->targets, cap * sizeof(*p->targets));
    if (v == NULL)
      return CAPSID_ENOMEM;
    p->targets = v;
    b->cap = cap;
  }
  t = &p->targets[p->n_targets];
  memset(t, 0, sizeof(*t));
  t->kind = kind;
  t->recursive = recursive;
  t->optional = optional;
  t->path = capsid__strdup(path);
  t->entries = capsid__calloc(n ? n : 1, sizeof(*entries));
  if (t->path == NULL || t->entries == NULL) {
    capsid__free(t->path);
    capsid__free(t->entries);
    return CAPSID_ENOMEM;
  }
  if (n > 0)
    memcpy(t->entries, entries, n * sizeof(*entries));
  t->n_entries = n;
  p->n_targets++;
  /* The plan owns its SID strings (the caller's may not outlive it). */
  for (i = 0; i < n; i++)
    t->entries[i].who.sid = NULL;
  for (i = 0; i < n; i++)
    if (entries[i].who.sid != NULL &&
        (t->entries[i].who.sid = capsid__strdup(entries[i].who.sid)) == NULL)
      return CAPSID_ENOMEM;
  return 0;
}


static capsid__acl_entry_t entry(capsid__acl_principal_t who, unsigned perms,
                                 unsigned scope) {
  capsid__acl_entry_t e;

  e.who = who;
  e.perms = perms;
  e.scope = scope;
  return e;
}


static int principal_ok(const capsid__acl_principal_t* p) {
  return p->kind == CAPSID__ACL_USER || p->kind == CAPSID__ACL_GROUP;
}


/* The principal that may write beneath writable root i. */
static capsid__acl_principal_t root_principal(const capsid__acl_ids_t* ids,
                                              size_t i) {
  if (i > 0 && i - 1 < ids->n_roots && principal_ok(&ids->roots[i - 1]))
    return ids->roots[i - 1];
  return ids->workspace;
}


/* x on every proper ancestor of path, its root ("/", or "C:/" on
 * Windows) included, so who can reach the root. */
static int add_ancestors(builder_t* b, const char* path,
                         capsid__acl_principal_t who) {
  capsid__acl_entry_t e = entry(who, CAPSID__ACL_X, CAPSID__ACL_ACCESS);
  size_t root = capsid__path_root_len(path);
  char* copy;
  char* slash;
  char save;
  int rc;

  if (root == 0 || path[root] == '\0')
    return 0; /* the root itself has no ancestors */
  copy = capsid__strdup(path);
  if (copy == NULL)
    return CAPSID_ENOMEM;
  /* Outermost first: "/", "/home", "/home/u". */
  save = copy[root];
  copy[root] = '\0';
  rc = add_target(b, CAPSID__ACL_T_TRAVERSE, copy, 0, 0, &e, 1);
  copy[root] = save;
  for (slash = strchr(copy + root, '/'); rc == 0 && slash != NULL;
       slash = strchr(slash + 1, '/')) {
    *slash = '\0';
    rc = add_target(b, CAPSID__ACL_T_TRAVERSE, copy, 0, 0, &e, 1);
    *slash = '/';
  }
  capsid__free(copy);
  return rc;
}


static int build(const capsid__acl_plan_in_t* in, builder_t* b,
                 capsid_error_t* err) {
  const capsid__sandbox_t* sb = in->sandbox;
  const capsid__acl_ids_t* ids = &in->ids;
  capsid__acl_entry_t e[3];
  capsid__acl_principal_t who;
  size_t i, j, n_roots;
  const char* const* p;
  int rc;

  n_roots = sb->kind == CAPSID__POLICY_WORKSPACE_WRITE ? sb->first_tmp : 0;
  /* Writable roots. The tmp dirs are not walked: they are shared,
   * sticky and world-writable, and the job reaches its own through the
   * mount namespace. */
  for (i = 0; i < n_roots; i++) {
    who = root_principal(ids, i);
    e[0] = entry(who, CAPSID__ACL_R | CAPSID__ACL_W | CAPSID__ACL_XCOND,
                 CAPSID__ACL_ACCESS);
    e[1] = entry(who, CAPSID__ACL_R | CAPSID__ACL_W | CAPSID__ACL_X,
                 CAPSID__ACL_DEFAULT);
    /* The real owner keeps full access to what the sandbox creates. */
    e[2] = entry(ids->owner, CAPSID__ACL_R | CAPSID__ACL_W | CAPSID__ACL_X,
                 CAPSID__ACL_DEFAULT);
    rc = add_target(b, CAPSID__ACL_T_WRITE, sb->writable.v[i], 1, 0, e, 3);
    if (rc != 0)
      return rc;
  }
  /* Protected paths: read and traverse only, for whoever may write the
   * root that contains them. They may not exist yet (carve-outs are
   * created before the job), hence optional. */
  for (i = 0; i < sb->protected_paths.n; i++) {
    who = ids->workspace;
    for (j = n_roots; j-- > 0;)
      if (capsid__path_is_within(sb->protected_paths.v[i],
                                 sb->writable.v[j])) {
        who = root_principal(ids, j);
        break;
      }
    e[0] = entry(who, CAPSID__ACL_R | CAPSID__ACL_XCOND, CAPSID__ACL_ACCESS);
    e[1] = entry(who, CAPSID__ACL_R | CAPSID__ACL_X, CAPSID__ACL_DEFAULT);
    rc = add_target(b, CAPSID__ACL_T_READ_ONLY, sb->protected_paths.v[i], 1,
                    1, e, 2);
    if (rc != 0)
      return rc;
  }
  /* Read roots for the sandbox group. */
  for (p = in->read_roots; p != NULL && *p != NULL; p++) {
    if (!capsid__path_is_absolute(*p))
      return capsid__error_set(err, CAPSID_EINVAL, CAPSID_STAGE_ACL, 0, *p,
                               "read_roots",
                               "read root \"%s\" is not absolute", *p);
    e[0] = entry(ids->users, CAPSID__ACL_R | CAPSID__ACL_XCOND,
                 CAPSID__ACL_ACCESS);
    e[1] = entry(ids->users, CAPSID__ACL_R | CAPSID__ACL_X,
                 CAPSID__ACL_DEFAULT);
    rc = add_target(b, CAPSID__ACL_T_READ, *p, 1, 1, e, 2);
    if (rc != 0)
      return rc;
  }
  /* Deny mirrors on world-writable holes outside the writable roots. A
   * POSIX group entry cannot deny; the read-only group's r-x entry records
   * the decision and Landlock enforces it. */
  for (p = in->deny_dirs; p != NULL && *p != NULL; p++) {
    if (!capsid__path_is_absolute(*p))
      return capsid__error_set(err, CAPSID_EINVAL, CAPSID_STAGE_ACL, 0, *p,
                               "deny_dirs",
                               "deny path \"%s\" is not absolute", *p);
    for (i = 0; i < n_roots; i++)
      if (capsid__path_is_within(*p, sb->writable.v[i]))
        break;
    if (i < n_roots)
      continue;
    e[0] = entry(ids->read_only, CAPSID__ACL_R | CAPSID__ACL_X,
                 CAPSID__ACL_ACCESS);
    rc = add_target(b, CAPSID__ACL_T_DENY, *p, 0, 1, e, 1);
    if (rc != 0)
      return rc;
  }
  /* Traverse on the ancestors of the roots (of the cwd when read-only,
   * unless that cwd could not be a workspace: policy/policy.h),
   * for the workspace's own identity: every job runs as it. Granted to
   * the shared sandbox group, one workspace's grant on a 0700 ancestor
   * would let every other workspace's job through it. */
  if (n_roots == 0)
    return sb->cwd_untrusted ? 0 : add_ancestors(b, sb->cwd, ids->workspace);
  for (i = 0; i < n_roots; i++) {
    rc = add_ancestors(b, sb->writable.v[i], ids->workspace);
    if (rc != 0)
      return rc;
  }
  return 0;
}


/* ---- A Windows job's plan: SIDs, ACEs (acl.h, RULES_WIN_JOB) ---- */

size_t capsid__acl_sid_entries(capsid__acl_target_kind_t kind,
                               const char* sid, int is_dir,
                               capsid__acl_entry_t out[2]) {
  const unsigned scope = CAPSID__ACL_ACCESS | CAPSID__ACL_DEFAULT;
  capsid__acl_principal_t who;

  memset(&who, 0, sizeof(who));
  who.kind = CAPSID__ACL_GROUP;
  who.sid = sid;
  switch (kind) {
  case CAPSID__ACL_T_WRITE:
    out[0] = entry(who, CAPSID__ACL_R | CAPSID__ACL_W | CAPSID__ACL_X, scope);
    return 1;
  case CAPSID__ACL_T_READ_ONLY:
    out[0] = entry(who, CAPSID__ACL_W | CAPSID__ACL_DENY, scope);
    if (!is_dir)
      return 1;
    out[1] = entry(who, CAPSID__ACL_R | CAPSID__ACL_X, scope);
    return 2;
  default:
    out[0] = entry(who, CAPSID__ACL_R | CAPSID__ACL_X, scope);
    return 1;
  }
}


int capsid__acl_plan_add_sid(capsid__acl_plan_t* plan,
                             capsid__acl_target_kind_t kind,
                             const char* path, int is_dir, const char* sid) {
  capsid__acl_entry_t e[2];
  size_t n = capsid__acl_sid_entries(kind, sid, is_dir, e);

  return capsid__acl_plan_add(plan, kind, path,
                              kind != CAPSID__ACL_T_READ_ONLY || is_dir, 0, e,
                              n);
}


/* A protected path of a Windows job: denied to the workspace's SID and to
 * every other SID that writes a root, since a protected path may sit in
 * any of them. */
static int sid_protect(capsid__acl_plan_t* plan, const capsid__acl_ids_t* ids,
                       size_t n_roots, const char* path, int is_dir) {
  const char* sid;
  size_t i, j;
  int rc = 0;

  for (i = 0; rc == 0 && i < n_roots; i++) {
    sid = root_principal(ids, i).sid;
    for (j = 0; j < i && strcmp(root_principal(ids, j).sid, sid) != 0; j++)
      ;
    if (j == i) /* the first root of that SID */
      rc = capsid__acl_plan_add_sid(plan, CAPSID__ACL_T_READ_ONLY, path,
                                    is_dir, sid);
  }
  return rc;
}


static capsid__acl_path_kind_t path_kind(const capsid__acl_plan_in_t* in,
                                         const char* path) {
  return in->path_kind != NULL ? in->path_kind(path) : CAPSID__ACL_PATH_DIR;
}


static int build_sid(const capsid__acl_plan_in_t* in,
                     capsid__acl_plan_t* plan) {
  const capsid__sandbox_t* sb = in->sandbox;
  const capsid__acl_ids_t* ids = &in->ids;
  const char* group = principal_ok(&ids->users) ? ids->users.sid : NULL;
  const size_t n_roots =
      sb->kind == CAPSID__POLICY_READ_ONLY ? 0 : sb->writable.n;
  capsid__acl_path_kind_t kind;
  const char* p;
  size_t i;
  int rc = 0;

  for (i = 0; i < n_roots; i++)
    if (root_principal(ids, i).sid == NULL)
      return CAPSID_EINVAL; /* a uid among the SIDs */
  if (n_roots == 0)
    return group == NULL ? 0
                         : capsid__acl_plan_add_sid(plan, CAPSID__ACL_T_READ,
                                                    sb->cwd, 1, group);
  /* The group's entry first: the elevated job's user is checked before
   * its restricting SIDs. */
  for (i = 0; rc == 0 && i < n_roots; i++) {
    if (group != NULL)
      rc = capsid__acl_plan_add_sid(plan, CAPSID__ACL_T_WRITE,
                                    sb->writable.v[i], 1, group);
    if (rc == 0)
      rc = capsid__acl_plan_add_sid(plan, CAPSID__ACL_T_WRITE,
                                    sb->writable.v[i], 1,
                                    root_principal(ids, i).sid);
  }
  /* A missing protected path needs no entry of its own unless it is a
   * placeholder: beneath one, the placeholder's inherited deny covers it,
   * and creating it would leave the placeholder non-empty after the job.
   * A placeholder is made as a directory. */
  for (i = 0; rc == 0 && i < sb->protected_paths.n; i++) {
    p = sb->protected_paths.v[i];
    kind = path_kind(in, p);
    if (kind != CAPSID__ACL_PATH_MISSING ||
        capsid__strv_contains(&sb->missing_protected, p))
      rc = sid_protect(plan, ids, n_roots, p, kind != CAPSID__ACL_PATH_FILE);
  }
  for (i = 0; rc == 0 && i < sb->missing_protected.n; i++) {
    p = sb->missing_protected.v[i];
    if (!capsid__strv_contains(&sb->protected_paths, p))
      rc = sid_protect(plan, ids, n_roots, p,
                       path_kind(in, p) != CAPSID__ACL_PATH_FILE);
  }
  return rc;
}


/* The key of a Windows job's plan of read targets only is the read helper's: they
 * accumulate with its read roots (the cwd of an elevated read-only job). */
static int sid_key(capsid__acl_plan_t* plan) {
  size_t i;

  for (i = 0; i < plan->n_targets; i++)
    if (plan->targets[i].kind != CAPSID__ACL_T_READ)
      return 0;
  if (plan->n_targets == 0)
    return 0;
  capsid__free(plan->key);
  plan->key = capsid__strdup(CAPSID__ACL_READ_KEY);
  return plan->key == NULL ? CAPSID_ENOMEM : 0;
}


static int ids_ok(const capsid__acl_plan_in_t* in, capsid_error_t* err) {
  const capsid__acl_ids_t* ids = &in->ids;

  if (!principal_ok(&ids->workspace))
    return capsid__error_set(err, CAPSID_EINVAL, CAPSID_STAGE_ACL, 0, NULL,
                             "ids.workspace", "the workspace identity is "
                             "not set");
  if (in->rules == CAPSID__ACL_RULES_WIN_JOB)
    return ids->workspace.sid != NULL
               ? 0 /* the other identities are optional */
               : capsid__error_set(err, CAPSID_EINVAL, CAPSID_STAGE_ACL, 0,
                                   NULL, "ids.workspace", "a Windows job's "
                                   "plan needs SIDs");
  if (!principal_ok(&ids->owner) || !principal_ok(&ids->users) ||
      !principal_ok(&ids->read_only))
    return capsid__error_set(err, CAPSID_EINVAL, CAPSID_STAGE_ACL, 0, NULL,
                             "ids", "the owner, users and read-only "
                             "identities must all be set");
  return 0;
}


int capsid__acl_plan_build(const capsid__acl_plan_in_t* in,
                           capsid__acl_plan_t* out, capsid_error_t* err) {
  builder_t b;
  int rc;

  memset(out, 0, sizeof(*out));
  if (in == NULL || in->sandbox == NULL || in->sandbox->cwd == NULL)
    return capsid__error_set(err, CAPSID_EINVAL, CAPSID_STAGE_ACL, 0, NULL,
                             "sandbox", "the ACL plan needs a resolved "
                             "sandbox");
  rc = ids_ok(in, err);
  if (rc != 0)
    return rc;
  b.plan = out;
  b.cap = 0;
  out->key = capsid__strdup(in->sandbox->kind ==
                                    CAPSID__POLICY_WORKSPACE_WRITE &&
                                in->sandbox->writable.n > 0
                                ? in->sandbox->writable.v[0]
                                : in->sandbox->cwd);
  if (out->key == NULL)
    rc = CAPSID_ENOMEM;
  else if (in->rules != CAPSID__ACL_RULES_WIN_JOB)
    rc = build(in, &b, err);
  else if ((rc = build_sid(in, out)) == 0)
    rc = sid_key(out);
  if (rc != 0) {
    if (err != NULL && err->code == 0)
      capsid__error_set(err, rc, CAPSID_STAGE_ACL, 0, NULL, NULL,
                        "cannot build the ACL plan: %s",
                        capsid_strerror(rc));
    capsid__acl_plan_free(out);
  }
  return rc;
}


int capsid__acl_plan_add(capsid__acl_plan_t* plan,
                         capsid__acl_target_kind_t kind, const char* path,
                         int recursive, int optional,
                         const capsid__acl_entry_t* entries, size_t n) {
  capsid__acl_target_t* t = NULL;
  capsid__acl_entry_t* v;
  builder_t b;
  size_t i;

  for (i = 0; i < plan->n_targets && t == NULL; i++)
    if (strcmp(plan->targets[i].path, path) == 0 &&
        plan->targets[i].kind == kind)
      t = &plan->targets[i];
  if (t == NULL) {
    /* As full as it is: add_target grows the array. */
    b.plan = plan;
    b.cap = plan->n_targets;
    return add_target(&b, kind, path, recursive, optional, entries, n);
  }
  v = capsid__realloc(t->entries, (t->n_entries + n + 1) * sizeof(*v));
  if (v == NULL)
    return CAPSID_ENOMEM;
  t->entries = v;
  for (i = 0; i < n; i++) {
    v[t->n_entries] = entries[i];
    v[t->n_entries].who.sid = NULL;
    if (entries[i].who.sid != NULL &&
        (v[t->n_entries].who.sid = capsid__strdup(entries[i].who.sid)) ==
            NULL)
      return CAPSID_ENOMEM;
    t->n_entries++;
  }
  return 0;
}


int capsid__acl_plan_add_traverse(capsid__acl_plan_t* plan, const char* path,
                                  capsid__acl_principal_t who) {
  builder_t b;

  /* As full as it is: add_target grows the array. */
  b.plan = plan;
  b.cap = plan->n_targets;
  return add_ancestors(&b, path, who);
}


int capsid__acl_plan_simple(const char* root,
                            const capsid__acl_entry_t* entries, size_t n,
                            capsid__acl_plan_t* out) {
  builder_t b;
  int rc;

  memset(out, 0, sizeof(*out));
  b.plan = out;
  b.cap = 0;
  out->key = capsid__strdup(root);
  rc = out->key == NULL
           ? CAPSID_ENOMEM
           : add_target(&b, CAPSID__ACL_T_WRITE, root, 1, 0, entries, n);
  if (rc != 0)
    capsid__acl_plan_free(out);
  return rc;
}


int capsid__acl_plan_read(const char* const* read_roots,
                          capsid__acl_principal_t users,
                          capsid__acl_plan_t* out) {
  capsid__acl_entry_t e[2];
  const char* const* p;
  builder_t b;
  int rc = 0;

  memset(out, 0, sizeof(*out));
  if (!principal_ok(&users))
    return CAPSID_EINVAL;
  b.plan = out;
  b.cap = 0;
  out->key = capsid__strdup(CAPSID__ACL_READ_KEY);
  if (out->key == NULL)
    return CAPSID_ENOMEM;
  e[0] = entry(users, CAPSID__ACL_R | CAPSID__ACL_XCOND, CAPSID__ACL_ACCESS);
  e[1] = entry(users, CAPSID__ACL_R | CAPSID__ACL_X, CAPSID__ACL_DEFAULT);
  for (p = read_roots; rc == 0 && p != NULL && *p != NULL; p++)
    rc = !capsid__path_is_absolute(*p)
             ? CAPSID_EINVAL
             : add_target(&b, CAPSID__ACL_T_READ, *p, 1, 1, e, 2);
  if (rc != 0)
    capsid__acl_plan_free(out);
  return rc;
}


int capsid__acl_plan_copy(const capsid__acl_plan_t* src,
                          capsid__acl_plan_t* dst) {
  builder_t b;
  const capsid__acl_target_t* t;
  size_t i;
  int rc = 0;

  memset(dst, 0, sizeof(*dst));
  b.plan = dst;
  b.cap = 0;
  dst->key = capsid__strdup(src->key != NULL ? src->key : "");
  if (dst->key == NULL)
    return CAPSID_ENOMEM;
  for (i = 0; rc == 0 && i < src->n_targets; i++) {
    t = &src->targets[i];
    rc = add_target(&b, t->kind, t->path, t->recursive, t->optional,
                    t->entries, t->n_entries);
  }
  if (rc != 0)
    capsid__acl_plan_free(dst);
  return rc;
}


void capsid__acl_plan_free(capsid__acl_plan_t* plan) {
  size_t i;

  if (plan == NULL)
    return;
  for (i = 0; i < plan->n_targets; i++) {
    size_t j;
    for (j = 0; j < plan->targets[i].n_entries; j++)
      capsid__free((char*)plan->targets[i].entries[j].who.sid);
    capsid__free(plan->targets[i].path);
    capsid__free(plan->targets[i].entries);
  }
  capsid__free(plan->targets);
  capsid__free(plan->key);
  memset(plan, 0, sizeof(*plan));
}


static uint64_t fnv_u32(uint64_t h, uint32_t v) {
  unsigned char b[4];

  b[0] = (unsigned char)v;
  b[1] = (unsigned char)(v >> 8);
  b[2] = (unsigned char)(v >> 16);
  b[3] = (unsigned char)(v >> 24);
  return capsid__fnv1a(h, b, 4);
}


uint64_t capsid__acl_target_digest(const capsid__acl_target_t* t) {
  uint64_t h = CAPSID__FNV_BASIS;
  size_t i;

  h = fnv_u32(h, (uint32_t)t->kind);
  h = fnv_u32(h, (uint32_t)t->recursive);
  h = capsid__fnv1a(h, t->path, strlen(t->path) + 1);
  for (i = 0; i < t->n_entries; i++) {
    const capsid__acl_entry_t* e = &t->entries[i];
    h = fnv_u32(h, (uint32_t)e->who.kind);
    h = fnv_u32(h, e->who.id);
    if (e->who.sid != NULL)
      h = capsid__fnv1a(h, e->who.sid, strlen(e->who.sid));
    h = fnv_u32(h, e->perms);
    h = fnv_u32(h, e->scope);
  }
  return h;
}
