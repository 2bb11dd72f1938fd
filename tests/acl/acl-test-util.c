#include "acl-test-util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


void fixture_new(fixture_t* f) {
  memset(f, 0, sizeof(*f));
  f->root = test_mkdtemp();
  assert_non_null(f->root);
  snprintf(f->ws, sizeof(f->ws), "%s/ws", f->root);
  snprintf(f->out, sizeof(f->out), "%s/out", f->root);
  snprintf(f->state, sizeof(f->state), "%s/state", f->root);
  assert_int_equal(test_system("mkdir -p '%s/sub/deeper' '%s/dir' && "
                               "echo secret > '%s/file' && "
                               "echo x > '%s/dir/inner' && "
                               "chmod 600 '%s/file'",
                               f->out, f->out, f->out, f->out, f->out),
                   0);
  assert_int_equal(test_system("mkdir -p '%s/a/b/c' && echo 1 > '%s/a/one' "
                               "&& echo 2 > '%s/a/b/two' && chmod 755 "
                               "'%s/a/b/two' && echo 3 > '%s/top'",
                               f->ws, f->ws, f->ws, f->ws, f->ws),
                   0);
}


void fixture_free(fixture_t* f) {
  test_rmtree(f->root);
  free(f->root);
  f->root = NULL;
}


static char* capture(const char* fmt, const char* a, const char* b) {
  char cmd[4096], path[1100];
  char* text;
  size_t len;
  char* tmp = test_mkdtemp();

  assert_non_null(tmp);
  snprintf(path, sizeof(path), "%s/out", tmp);
  snprintf(cmd, sizeof(cmd), fmt, a, b);
  assert_true(test_system("(%s) > '%s' 2>&1", cmd, path) >= 0);
  text = test_read_file(path, &len);
  assert_non_null(text);
  test_rmtree(tmp);
  free(tmp);
  return text;
}


char* acl_snapshot(const char* dir) {
  return capture("cd '%s' && getfacl -R -P -p . && find . -printf "
                 "'%%p|%%i|%%m|%%n|%%U|%%G|%%s|%%C@\\n' | sort%s",
                 dir, "");
}


int acl_has(const char* path, const char* entry) {
  return test_system("getfacl -p '%s' 2>/dev/null | grep -qx '%s'", path,
                     entry) == 0;
}


int acl_extended(const char* path) {
  return test_system("getfacl -p -s '%s' 2>/dev/null | grep -q .", path) ==
         0;
}


void simple_plan(const char* root, capsid__acl_plan_t* plan) {
  capsid__acl_entry_t e[2];

  memset(e, 0, sizeof(e));
  e[0].who.kind = e[1].who.kind = CAPSID__ACL_USER;
  e[0].who.id = e[1].who.id = TEST_UID;
  e[0].perms = CAPSID__ACL_R | CAPSID__ACL_W | CAPSID__ACL_XCOND;
  e[0].scope = CAPSID__ACL_ACCESS;
  e[1].perms = CAPSID__ACL_R | CAPSID__ACL_W | CAPSID__ACL_X;
  e[1].scope = CAPSID__ACL_DEFAULT;
  assert_int_equal(capsid__acl_plan_simple(root, e, 2, plan), 0);
}


int run_plan_err(capsid__acl_action_t action, const capsid__acl_plan_t* plan,
                 const char* state, capsid__acl_stats_t* stats,
                 capsid_error_t* err) {
  capsid__acl_opts_t opts;
  capsid__acl_stats_t local;

  memset(&opts, 0, sizeof(opts));
  opts.state_dir = state;
  opts.threads = 2;
  return capsid__acl_run(action, plan, &opts, stats ? stats : &local, err);
}


int run_plan(capsid__acl_action_t action, const capsid__acl_plan_t* plan,
             const char* state, capsid__acl_stats_t* stats) {
  capsid_error_t err = {0};
  int rc = run_plan_err(action, plan, state, stats, &err);

  capsid__error_free(&err);
  return rc;
}


char* acl_facls(const char* dir) {
  return capture("cd '%s' && getfacl -R -P -p .%s", dir, "");
}
