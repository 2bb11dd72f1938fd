/* The ACL plan is pure data: these tests assert exactly what would be
 * granted, without touching a file. */
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


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_workspace_write_plan),
      cmocka_unit_test(test_read_only_plan),
      cmocka_unit_test(test_read_roots_with_traverse),
      cmocka_unit_test(test_plan_errors_name_the_field),
      cmocka_unit_test(test_copy_and_digest),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
