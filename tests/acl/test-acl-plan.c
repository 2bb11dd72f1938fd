/* The ACL plan is pure data: these tests assert exactly what would be
 * granted, without touching a file, for uid/gid principals (Linux) and for
 * SID principals (Windows). */
#include "acl-test-util.h"

#include <string.h>

static capsid__acl_principal_t who(capsid__acl_who_kind_t k, uint32_t id) {
  capsid__acl_principal_t p;

  memset(&p, 0, sizeof(p));
  p.kind = k;
  p.id = id;
  return p;
}


static void make_sandbox(capsid__sandbox_t* sb, int kind) {
  memset(sb, 0, sizeof(*sb));
  sb->kind = kind;
  sb->cwd = capsid__strdup("/w/ws");
  if (kind == CAPSID__POLICY_WORKSPACE_WRITE) {
    capsid__strv_push(&sb->writable, "/w/ws");
    capsid__strv_push(&sb->writable, "/w/extra");
    capsid__strv_push(&sb->writable, "/tmp");
    sb->first_tmp = 2;
    capsid__strv_push(&sb->protected_paths, "/w/ws/.git");
    capsid__strv_push(&sb->protected_paths, "/w/extra/.agents");
    capsid__strv_push(&sb->missing_protected, "/w/extra/.agents");
  }
}


static void make_in(capsid__acl_plan_in_t* in, capsid__sandbox_t* sb,
                    capsid__acl_principal_t* roots) {
  memset(in, 0, sizeof(*in));
  in->sandbox = sb;
  in->ids.workspace = who(CAPSID__ACL_USER, 61001);
  in->ids.owner = who(CAPSID__ACL_USER, 1000);
  in->ids.users = who(CAPSID__ACL_GROUP, 61000);
  in->ids.read_only = who(CAPSID__ACL_GROUP, 61002);
  roots[0] = who(CAPSID__ACL_GROUP, 61003);
  in->ids.roots = roots;
  in->ids.n_roots = 1;
}


static void assert_entry(const capsid__acl_entry_t* e, int kind, uint32_t id,
                         unsigned perms, unsigned scope) {
  assert_int_equal(e->who.kind, kind);
  assert_int_equal(e->who.id, id);
  assert_int_equal(e->perms, perms);
  assert_int_equal(e->scope, scope);
}


static void test_workspace_write_plan(void** state) {
  const char* deny[] = {"/srv/shared", "/w/ws/inside", "/srv/shared", NULL};
  const char* reads[] = {"/opt/tools", NULL};
  capsid__acl_principal_t roots[1];
  capsid__acl_plan_in_t in;
  capsid__acl_plan_t plan;
  capsid__sandbox_t sb;
  capsid_error_t err = {0};
  const capsid__acl_target_t* t;
  const unsigned RW = CAPSID__ACL_R | CAPSID__ACL_W;

  (void)state;
  make_sandbox(&sb, CAPSID__POLICY_WORKSPACE_WRITE);
  make_in(&in, &sb, roots);
  in.deny_dirs = deny;
  in.read_roots = reads;
  assert_int_equal(capsid__acl_plan_build(&in, &plan, &err), 0);
  assert_string_equal(plan.key, "/w/ws");
  /* write x2, read-only x2, read, deny (deduplicated, the one inside the
   * workspace dropped), traverse "/" and "/w" (shared by both roots). */
  assert_int_equal(plan.n_targets, 8);

  t = &plan.targets[0];
  assert_int_equal(t->kind, CAPSID__ACL_T_WRITE);
  assert_string_equal(t->path, "/w/ws");
  assert_true(t->recursive);
  assert_false(t->optional);
  assert_int_equal(t->n_entries, 3);
  assert_entry(&t->entries[0], CAPSID__ACL_USER, 61001,
               RW | CAPSID__ACL_XCOND, CAPSID__ACL_ACCESS);
  assert_entry(&t->entries[1], CAPSID__ACL_USER, 61001, RW | CAPSID__ACL_X,
               CAPSID__ACL_DEFAULT);
  /* The real owner keeps full access to what the sandbox creates. */
  assert_entry(&t->entries[2], CAPSID__ACL_USER, 1000, RW | CAPSID__ACL_X,
               CAPSID__ACL_DEFAULT);

  t = &plan.targets[1];
  assert_string_equal(t->path, "/w/extra");
  assert_entry(&t->entries[0], CAPSID__ACL_GROUP, 61003,
               RW | CAPSID__ACL_XCOND, CAPSID__ACL_ACCESS);

  t = &plan.targets[2];
  assert_int_equal(t->kind, CAPSID__ACL_T_READ_ONLY);
  assert_string_equal(t->path, "/w/ws/.git");
  assert_true(t->optional);
  assert_entry(&t->entries[0], CAPSID__ACL_USER, 61001,
               CAPSID__ACL_R | CAPSID__ACL_XCOND, CAPSID__ACL_ACCESS);
  /* A protected path is read-only for whoever writes its root. */
  t = &plan.targets[3];
  assert_string_equal(t->path, "/w/extra/.agents");
  assert_entry(&t->entries[0], CAPSID__ACL_GROUP, 61003,
               CAPSID__ACL_R | CAPSID__ACL_XCOND, CAPSID__ACL_ACCESS);

  t = &plan.targets[4];
  assert_int_equal(t->kind, CAPSID__ACL_T_READ);
  assert_string_equal(t->path, "/opt/tools");
  assert_entry(&t->entries[0], CAPSID__ACL_GROUP, 61000,
               CAPSID__ACL_R | CAPSID__ACL_XCOND, CAPSID__ACL_ACCESS);

  t = &plan.targets[5];
  assert_int_equal(t->kind, CAPSID__ACL_T_DENY);
  assert_string_equal(t->path, "/srv/shared");
  assert_false(t->recursive);
  assert_entry(&t->entries[0], CAPSID__ACL_GROUP, 61002,
               CAPSID__ACL_R | CAPSID__ACL_X, CAPSID__ACL_ACCESS);

  assert_int_equal(plan.targets[6].kind, CAPSID__ACL_T_TRAVERSE);
  assert_string_equal(plan.targets[6].path, "/");
  assert_string_equal(plan.targets[7].path, "/w");
  assert_false(plan.targets[7].recursive);
  /* Traverse for the workspace's own identity, never the shared group:
   * a 0700 ancestor opened to capsid-users would let every workspace
   * through. */
  assert_entry(&plan.targets[7].entries[0], CAPSID__ACL_USER, 61001,
               CAPSID__ACL_X, CAPSID__ACL_ACCESS);
  /* No target is a tmp dir. */
  for (size_t i = 0; i < plan.n_targets; i++)
    assert_string_not_equal(plan.targets[i].path, "/tmp");
  capsid__acl_plan_free(&plan);
  capsid__sandbox_free(&sb);
}


static void test_read_only_plan(void** state) {
  capsid__acl_principal_t roots[1];
  capsid__acl_plan_in_t in;
  capsid__acl_plan_t plan;
  capsid__sandbox_t sb;
  capsid_error_t err = {0};

  (void)state;
  make_sandbox(&sb, CAPSID__POLICY_READ_ONLY);
  make_in(&in, &sb, roots);
  assert_int_equal(capsid__acl_plan_build(&in, &plan, &err), 0);
  assert_string_equal(plan.key, "/w/ws");
  assert_int_equal(plan.n_targets, 2);
  assert_string_equal(plan.targets[0].path, "/");
  assert_string_equal(plan.targets[1].path, "/w");
  for (size_t i = 0; i < plan.n_targets; i++) {
    assert_int_equal(plan.targets[i].kind, CAPSID__ACL_T_TRAVERSE);
    assert_entry(&plan.targets[i].entries[0], CAPSID__ACL_USER, 61001,
                 CAPSID__ACL_X, CAPSID__ACL_ACCESS);
  }
  capsid__acl_plan_free(&plan);
  /* A cwd that could not be a workspace (/root/x, a system tree): no
   * traverse on its ancestors, so a read-only job opens no path there. */
  sb.cwd_untrusted = 1;
  assert_int_equal(capsid__acl_plan_build(&in, &plan, &err), 0);
  assert_int_equal(plan.n_targets, 0);
  capsid__acl_plan_free(&plan);
  capsid__sandbox_free(&sb);
}


/* setup --read-root's plan: the roots read-only for the group, and --x
 * on their ancestors, each ancestor once however many roots share it. */
static void test_read_roots_with_traverse(void** state) {
  const char* roots[] = {"/r/a/one", "/r/a/two", NULL};
  capsid__acl_principal_t users = who(CAPSID__ACL_GROUP, 61000);
  capsid__acl_plan_t plan;
  const char* want[] = {"/r/a/one", "/r/a/two", "/", "/r", "/r/a"};
  size_t i;

  (void)state;
  assert_int_equal(capsid__acl_plan_read(roots, users, &plan), 0);
  assert_int_equal(capsid__acl_plan_add_traverse(&plan, roots[0], users), 0);
  assert_int_equal(capsid__acl_plan_add_traverse(&plan, roots[1], users), 0);
  assert_int_equal(plan.n_targets, 5);
  for (i = 0; i < 5; i++) {
    assert_string_equal(plan.targets[i].path, want[i]);
    assert_int_equal(plan.targets[i].kind,
                     i < 2 ? CAPSID__ACL_T_READ : CAPSID__ACL_T_TRAVERSE);
  }
  for (i = 2; i < 5; i++) {
    assert_int_equal(plan.targets[i].n_entries, 1);
    assert_entry(&plan.targets[i].entries[0], CAPSID__ACL_GROUP, 61000,
                 CAPSID__ACL_X, CAPSID__ACL_ACCESS);
  }
  capsid__acl_plan_free(&plan);
}


static void test_plan_errors_name_the_field(void** state) {
  const char* bad[] = {"relative/dir", NULL};
  capsid__acl_principal_t roots[1];
  capsid__acl_plan_in_t in;
  capsid__acl_plan_t plan;
  capsid__sandbox_t sb;
  capsid_error_t err = {0};

  (void)state;
  make_sandbox(&sb, CAPSID__POLICY_WORKSPACE_WRITE);
  make_in(&in, &sb, roots);
  in.ids.workspace.kind = 0;
  assert_int_equal(capsid__acl_plan_build(&in, &plan, &err), CAPSID_EINVAL);
  assert_string_equal(err.field, "ids.workspace");
  assert_null(plan.targets);
  capsid__error_free(&err);

  make_in(&in, &sb, roots);
  in.read_roots = bad;
  assert_int_equal(capsid__acl_plan_build(&in, &plan, &err), CAPSID_EINVAL);
  assert_string_equal(err.field, "read_roots");
  assert_string_equal(err.path, "relative/dir");
  capsid__error_free(&err);

  make_in(&in, &sb, roots);
  in.deny_dirs = bad;
  assert_int_equal(capsid__acl_plan_build(&in, &plan, &err), CAPSID_EINVAL);
  assert_string_equal(err.field, "deny_dirs");
  capsid__error_free(&err);
  capsid__sandbox_free(&sb);
}


static void test_copy_and_digest(void** state) {
  capsid__acl_principal_t roots[1];
  capsid__acl_plan_in_t in;
  capsid__acl_plan_t plan, copy;
  capsid__sandbox_t sb;
  capsid_error_t err = {0};
  uint64_t d0;
  size_t i;

  (void)state;
  make_sandbox(&sb, CAPSID__POLICY_WORKSPACE_WRITE);
  make_in(&in, &sb, roots);
  assert_int_equal(capsid__acl_plan_build(&in, &plan, &err), 0);
  assert_int_equal(capsid__acl_plan_copy(&plan, &copy), 0);
  assert_int_equal(copy.n_targets, plan.n_targets);
  for (i = 0; i < plan.n_targets; i++) {
    assert_string_equal(copy.targets[i].path, plan.targets[i].path);
    assert_true(copy.targets[i].path != plan.targets[i].path);
    assert_true(capsid__acl_target_digest(&copy.targets[i]) ==
                capsid__acl_target_digest(&plan.targets[i]));
  }
  /* Any change to what is granted changes the digest. */
  d0 = capsid__acl_target_digest(&copy.targets[0]);
  copy.targets[0].entries[0].perms &= ~CAPSID__ACL_W;
  assert_true(capsid__acl_target_digest(&copy.targets[0]) != d0);
  copy.targets[0].entries[0].perms |= CAPSID__ACL_W;
  assert_true(capsid__acl_target_digest(&copy.targets[0]) == d0);
  copy.targets[0].entries[0].who.id++;
  assert_true(capsid__acl_target_digest(&copy.targets[0]) != d0);
  capsid__acl_plan_free(&copy);
  capsid__acl_plan_free(&plan);
  capsid__sandbox_free(&sb);
}


/* ---- SID principals (Windows ACEs) ---- */

#define WS_SID "S-1-5-21-1-2-3-100"
#define GEN_SID "S-1-5-21-1-2-3-101"
#define GROUP_SID "S-1-5-21-9-9-9-1001"

static capsid__acl_principal_t sid(const char* s) {
  capsid__acl_principal_t p;

  memset(&p, 0, sizeof(p));
  p.kind = CAPSID__ACL_GROUP;
  p.sid = s;
  return p;
}


/* What the paths of make_sid_sandbox are on disk; the planner asks, it
 * does not look. */
static capsid__acl_path_kind_t sid_path_kind(const char* path) {
  if (strcmp(path, "C:/w/ws/notes.txt") == 0)
    return CAPSID__ACL_PATH_FILE;
  if (strcmp(path, "C:/w/ws/.git") == 0)
    return CAPSID__ACL_PATH_DIR;
  return CAPSID__ACL_PATH_MISSING;
}


static void make_sid_sandbox(capsid__sandbox_t* sb) {
  memset(sb, 0, sizeof(*sb));
  sb->kind = CAPSID__POLICY_WORKSPACE_WRITE;
  sb->cwd = capsid__strdup("C:/w/ws");
  capsid__strv_push(&sb->writable, "C:/w/ws");
  capsid__strv_push(&sb->writable, "C:/w/extra");
  capsid__strv_push(&sb->writable, "C:/Temp");
  sb->first_tmp = 2;
  capsid__strv_push(&sb->protected_paths, "C:/w/ws/.git");
  capsid__strv_push(&sb->protected_paths, "C:/w/ws/notes.txt");
  capsid__strv_push(&sb->protected_paths, "C:/w/ws/gone");
  capsid__strv_push(&sb->protected_paths, "C:/w/extra/.agents");
  capsid__strv_push(&sb->missing_protected, "C:/w/extra/.agents");
  capsid__strv_push(&sb->missing_protected, "C:/w/ws/out");
}


static void make_sid_in(capsid__acl_plan_in_t* in, capsid__sandbox_t* sb,
                        capsid__acl_principal_t roots[2]) {
  memset(in, 0, sizeof(*in));
  in->sandbox = sb;
  in->ids.workspace = sid(WS_SID);
  roots[0] = roots[1] = sid(GEN_SID);
  in->ids.roots = roots;
  in->ids.n_roots = 2;
  in->rules = CAPSID__ACL_RULES_WIN_JOB;
  in->path_kind = sid_path_kind;
}


static void assert_sid_entry(const capsid__acl_entry_t* e, const char* s,
                             unsigned perms) {
  assert_int_equal(e->who.kind, CAPSID__ACL_GROUP);
  assert_string_equal(e->who.sid, s);
  assert_int_equal(e->perms, perms);
  assert_int_equal(e->scope, CAPSID__ACL_ACCESS | CAPSID__ACL_DEFAULT);
}


/* A SID plan is Windows' ACEs: one inherited entry per SID on every
 * writable root (the temp dir too), a deny of W for both SIDs on each
 * protected path that exists or is a placeholder (with R|X on a
 * directory), none on a missing one that is not, and no owner, traverse
 * or optional target. */
static void test_sid_workspace_write_plan(void** state) {
  const unsigned RWX = CAPSID__ACL_R | CAPSID__ACL_W | CAPSID__ACL_X;
  const unsigned DENY = CAPSID__ACL_W | CAPSID__ACL_DENY;
  const unsigned RX = CAPSID__ACL_R | CAPSID__ACL_X;
  const char* denied[] = {"C:/w/ws/.git", "C:/w/ws/notes.txt",
                          "C:/w/extra/.agents", "C:/w/ws/out"};
  capsid__acl_principal_t roots[2];
  capsid__acl_plan_in_t in;
  capsid__acl_plan_t plan;
  capsid__sandbox_t sb;
  capsid_error_t err = {0};
  const capsid__acl_target_t* t;
  size_t i;

  (void)state;
  make_sid_sandbox(&sb);
  make_sid_in(&in, &sb, roots);
  assert_int_equal(capsid__acl_plan_build(&in, &plan, &err), 0);
  assert_string_equal(plan.key, "C:/w/ws");
  assert_int_equal(plan.n_targets, 7);
  for (i = 0; i < 3; i++) {
    t = &plan.targets[i];
    assert_int_equal(t->kind, CAPSID__ACL_T_WRITE);
    assert_string_equal(t->path, sb.writable.v[i]);
    assert_true(t->recursive);
    assert_false(t->optional);
    assert_int_equal(t->n_entries, 1);
    assert_sid_entry(&t->entries[0], i == 0 ? WS_SID : GEN_SID, RWX);
  }
  for (i = 0; i < 4; i++) {
    int is_file = i == 1;
    t = &plan.targets[3 + i];
    assert_int_equal(t->kind, CAPSID__ACL_T_READ_ONLY);
    assert_string_equal(t->path, denied[i]);
    assert_false(t->optional);
    /* A placeholder is made as a directory; a file is that file alone. */
    assert_int_equal(t->recursive, !is_file);
    assert_int_equal(t->n_entries, is_file ? 2 : 4);
    assert_sid_entry(&t->entries[0], WS_SID, DENY);
    if (is_file) {
      assert_sid_entry(&t->entries[1], GEN_SID, DENY);
    } else {
      assert_sid_entry(&t->entries[1], WS_SID, RX);
      assert_sid_entry(&t->entries[2], GEN_SID, DENY);
      assert_sid_entry(&t->entries[3], GEN_SID, RX);
    }
  }
  capsid__acl_plan_free(&plan);

  /* One root: one SID, denied once. */
  sb.writable.n = 1;
  assert_int_equal(capsid__acl_plan_build(&in, &plan, &err), 0);
  assert_int_equal(plan.n_targets, 5);
  assert_int_equal(plan.targets[1].n_entries, 2);
  assert_sid_entry(&plan.targets[1].entries[0], WS_SID, DENY);
  assert_sid_entry(&plan.targets[1].entries[1], WS_SID, RX);
  capsid__acl_plan_free(&plan);
  sb.writable.n = 3;
  capsid__sandbox_free(&sb);
}


/* An elevated job's sandbox group comes first on every root (its user is
 * checked before its restricting SIDs); a read-only elevated job reads its
 * cwd through the group, under the read helper's key; a read-only job
 * that is not elevated gets nothing. */
static void test_sid_elevated_and_read_only(void** state) {
  const unsigned RWX = CAPSID__ACL_R | CAPSID__ACL_W | CAPSID__ACL_X;
  capsid__acl_principal_t roots[2];
  capsid__acl_plan_in_t in;
  capsid__acl_plan_t plan;
  capsid__sandbox_t sb;
  capsid_error_t err = {0};

  (void)state;
  make_sid_sandbox(&sb);
  make_sid_in(&in, &sb, roots);
  in.ids.users = sid(GROUP_SID);
  assert_int_equal(capsid__acl_plan_build(&in, &plan, &err), 0);
  assert_int_equal(plan.targets[0].n_entries, 2);
  assert_sid_entry(&plan.targets[0].entries[0], GROUP_SID, RWX);
  assert_sid_entry(&plan.targets[0].entries[1], WS_SID, RWX);
  assert_sid_entry(&plan.targets[2].entries[0], GROUP_SID, RWX);
  assert_sid_entry(&plan.targets[2].entries[1], GEN_SID, RWX);
  /* The group is not denied the protected paths: the SIDs are. */
  assert_int_equal(plan.targets[3].n_entries, 4);
  capsid__acl_plan_free(&plan);

  sb.kind = CAPSID__POLICY_READ_ONLY;
  assert_int_equal(capsid__acl_plan_build(&in, &plan, &err), 0);
  assert_string_equal(plan.key, CAPSID__ACL_READ_KEY);
  assert_int_equal(plan.n_targets, 1);
  assert_int_equal(plan.targets[0].kind, CAPSID__ACL_T_READ);
  assert_string_equal(plan.targets[0].path, "C:/w/ws");
  assert_true(plan.targets[0].recursive);
  assert_false(plan.targets[0].optional);
  assert_int_equal(plan.targets[0].n_entries, 1);
  assert_sid_entry(&plan.targets[0].entries[0], GROUP_SID,
                   CAPSID__ACL_R | CAPSID__ACL_X);
  capsid__acl_plan_free(&plan);

  memset(&in.ids.users, 0, sizeof(in.ids.users));
  assert_int_equal(capsid__acl_plan_build(&in, &plan, &err), 0);
  assert_int_equal(plan.n_targets, 0);
  assert_string_equal(plan.key, "C:/w/ws");
  capsid__acl_plan_free(&plan);
  capsid__sandbox_free(&sb);
}


/* The rules are chosen, not guessed from the principals: `capsid acl` on
 * Windows plans setfacl-like entries for SIDs, as on Linux;
 * a Windows job's rules refuse a uid among its SIDs. */
static void test_sid_rules_are_explicit(void** state) {
  capsid__acl_principal_t rp[2];
  capsid__acl_plan_in_t in;
  capsid__acl_plan_t plan;
  capsid__sandbox_t sb;
  capsid_error_t err = {0};

  (void)state;
  make_sid_sandbox(&sb);
  make_sid_in(&in, &sb, rp);
  in.rules = CAPSID__ACL_RULES_ENTRIES;
  in.ids.owner = sid("S-1-5-21-1-2-3-1000");
  in.ids.users = sid(GROUP_SID);
  in.ids.read_only = sid("S-1-5-21-1-2-3-102");
  assert_int_equal(capsid__acl_plan_build(&in, &plan, &err), 0);
  assert_int_equal(plan.targets[0].kind, CAPSID__ACL_T_WRITE);
  assert_int_equal(plan.targets[0].n_entries, 3);
  assert_string_equal(plan.targets[0].entries[0].who.sid, WS_SID);
  assert_int_equal(plan.targets[0].entries[0].perms,
                   CAPSID__ACL_R | CAPSID__ACL_W | CAPSID__ACL_XCOND);
  /* A protected path is read-only, not denied: no Windows job's ACEs. */
  assert_int_equal(plan.targets[2].kind, CAPSID__ACL_T_READ_ONLY);
  assert_string_equal(plan.targets[2].path, "C:/w/ws/.git");
  assert_int_equal(plan.targets[2].entries[0].perms,
                   CAPSID__ACL_R | CAPSID__ACL_XCOND);
  capsid__acl_plan_free(&plan);

  make_sid_in(&in, &sb, rp);
  rp[1] = who(CAPSID__ACL_GROUP, 61003);
  assert_int_equal(capsid__acl_plan_build(&in, &plan, &err), CAPSID_EINVAL);
  assert_null(plan.targets);
  capsid__error_free(&err);
  make_sid_in(&in, &sb, rp);
  in.ids.workspace = who(CAPSID__ACL_USER, 61001);
  assert_int_equal(capsid__acl_plan_build(&in, &plan, &err), CAPSID_EINVAL);
  assert_string_equal(err.field, "ids.workspace");
  capsid__error_free(&err);
  capsid__sandbox_free(&sb);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_workspace_write_plan),
      cmocka_unit_test(test_read_only_plan),
      cmocka_unit_test(test_read_roots_with_traverse),
      cmocka_unit_test(test_plan_errors_name_the_field),
      cmocka_unit_test(test_copy_and_digest),
      cmocka_unit_test(test_sid_workspace_write_plan),
      cmocka_unit_test(test_sid_elevated_and_read_only),
      cmocka_unit_test(test_sid_rules_are_explicit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
