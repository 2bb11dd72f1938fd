/* deny_read in the policy: parsing, presets, and resolution (globs, "~",
 * links, what it may not hold, its bound). Enforcement is proven by the
 * smoke case smoke_deny_read. */
#include "test-common.h"

#include "denyread.h"
#include "policy.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  char* dir;
  char ws[PATH_MAX];
  char home[PATH_MAX];
  char* old_home;
} fixture_t;


static int setup(void** state) {
  fixture_t* f = calloc(1, sizeof(*f));
  const char* home = getenv("HOME");

  f->dir = test_mkdtemp();
  snprintf(f->ws, sizeof(f->ws), "%s/ws", f->dir);
  snprintf(f->home, sizeof(f->home), "%s/home", f->dir);
  test_system("mkdir -p '%s/.ssh' '%s/.aws' '%s/keys' '%s/sub' '%s/real'",
              f->home, f->home, f->home, f->ws, f->dir);
  test_system("cd '%s' && touch .ssh/id .netrc keys/a.pem keys/b.pem "
              "keys/c.txt && ln -s ../real/secret linked",
              f->home);
  test_system("touch '%s/real/secret' '%s/.env' '%s/.env.local' "
              "'%s/sub/.env' '%s/plain'",
              f->dir, f->ws, f->ws, f->ws, f->ws);
  f->old_home = home != NULL ? strdup(home) : NULL;
  setenv("HOME", f->home, 1);
  unsetenv("SUDO_UID");
  *state = f;
  return 0;
}


static int teardown(void** state) {
  fixture_t* f = *state;

  if (f->old_home != NULL)
    setenv("HOME", f->old_home, 1);
  free(f->old_home);
  test_rmtree(f->dir);
  free(f->dir);
  free(f);
  return 0;
}


static int resolve(const fixture_t* f, const char* policy,
                   capsid__sandbox_t* sb, capsid_error_t* err) {
  capsid__policy_t p;
  capsid__resolve_in_t in;
  int rc;

  memset(err, 0, sizeof(*err));
  rc = capsid__policy_parse(policy, &p, err);
  if (rc != 0)
    return rc;
  memset(&in, 0, sizeof(in));
  in.cwd = f->ws;
  in.network = -1;
  rc = capsid__sandbox_resolve(&p, &in, sb, err);
  capsid__policy_free(&p);
  return rc;
}


static int denies(const capsid__sandbox_t* sb, const char* dir,
                  const char* name) {
  char path[PATH_MAX * 2];

  snprintf(path, sizeof(path), "%s/%s", dir, name);
  return capsid__strv_contains(&sb->deny_read, path);
}


static void test_parse(void** state) {
  capsid__policy_t p, c;
  capsid_error_t err = {0};

  (void)state;
  assert_int_equal(capsid__policy_parse("{\"mode\":\"read-only\","
                                        "\"deny_read\":[\"~/.ssh\","
                                        "\"@credentials\"]}",
                                        &p, &err),
                   0);
  assert_int_equal(p.deny_read.n, 2);
  assert_int_equal(capsid__policy_copy(&c, &p), 0);
  capsid__policy_free(&p);
  assert_string_equal(c.deny_read.v[1], "@credentials");
  capsid__policy_free(&c);

  assert_int_equal(capsid__policy_parse("{\"mode\":\"read-only\","
                                        "\"deny_read\":[\"@secrets\"]}",
                                        &p, &err),
                   CAPSID_EPOLICY);
  assert_string_equal(err.field, "policy.deny_read");
  assert_non_null(strstr(err.message, "unknown preset \"@secrets\""));
  capsid__error_free(&err);
  assert_int_equal(capsid__policy_parse("{\"mode\":\"read-only\","
                                        "\"deny_read\":\"~/.ssh\"}",
                                        &p, &err),
                   CAPSID_EPOLICY);
  assert_string_equal(err.field, "policy.deny_read");
  capsid__error_free(&err);
  assert_int_equal(capsid__policy_parse("{\"mode\":\"read-only\","
                                        "\"deny_read\":[\"\"]}",
                                        &p, &err),
                   CAPSID_EPOLICY);
  assert_string_equal(err.field, "policy.deny_read[0]");
  capsid__error_free(&err);
  assert_non_null(capsid__deny_read_preset("@credentials"));
  assert_non_null(capsid__deny_read_preset("@workspace-env"));
  assert_null(capsid__deny_read_preset("@nothing"));
}


/* The presets, a glob, a link (its target is hidden), a missing path
 * (nothing), and the same under read-only. */
static void test_resolve(void** state) {
  fixture_t* f = *state;
  capsid__sandbox_t sb;
  capsid_error_t err;
  char real[PATH_MAX];
  static const char* const policies[] = {
      "{\"mode\":\"workspace-write\",\"deny_read\":[\"@credentials\","
      "\"@workspace-env\",\"~/keys/*.pem\",\"~/linked\",\"~/missing\"]}",
      "{\"mode\":\"read-only\",\"deny_read\":[\"@credentials\","
      "\"@workspace-env\",\"~/keys/*.pem\",\"~/linked\",\"~/missing\"]}"};
  size_t i;

  for (i = 0; i < 2; i++) {
    assert_int_equal(resolve(f, policies[i], &sb, &err), 0);
    assert_true(denies(&sb, f->home, ".ssh"));
    assert_true(denies(&sb, f->home, ".aws"));
    assert_true(denies(&sb, f->home, ".netrc"));
    assert_true(denies(&sb, f->home, "keys/a.pem"));
    assert_true(denies(&sb, f->home, "keys/b.pem"));
    assert_false(denies(&sb, f->home, "keys/c.txt"));
    assert_true(denies(&sb, f->ws, ".env"));
    assert_true(denies(&sb, f->ws, ".env.local"));
    assert_true(denies(&sb, f->ws, "sub/.env"));
    assert_false(denies(&sb, f->ws, "plain"));
    assert_false(denies(&sb, f->home, "linked"));
    snprintf(real, sizeof(real), "%s/real", f->dir);
    assert_true(denies(&sb, real, "secret"));
    assert_int_equal(sb.deny_read.n, 9);
    capsid__sandbox_free(&sb);
  }
  /* No home to expand "~" in: refused, not silently nothing hidden. */
  setenv("HOME", "/nonexistent-home", 1);
  assert_int_equal(resolve(f, "{\"mode\":\"read-only\",\"deny_read\":"
                              "[\"/nowhere\",\"~/.ssh\"]}",
                           &sb, &err),
                   CAPSID_EPOLICY);
  assert_string_equal(err.field, "policy.deny_read[1]");
  assert_non_null(strstr(err.message, "home directory"));
  capsid__error_free(&err);
}


/* What a job must reach cannot be denied, and the expansion is bounded. */
static void test_resolve_errors(void** state) {
  fixture_t* f = *state;
  capsid__sandbox_t sb;
  capsid_error_t err;
  char policy[PATH_MAX * 2];
  int i;

  snprintf(policy, sizeof(policy),
           "{\"mode\":\"workspace-write\",\"deny_read\":[\"%s\"]}", f->dir);
  assert_int_equal(resolve(f, policy, &sb, &err), CAPSID_EPOLICY);
  assert_string_equal(err.field, "policy.deny_read[0]");
  assert_non_null(strstr(err.message, "working directory"));
  capsid__error_free(&err);
  assert_int_equal(resolve(f, "{\"mode\":\"workspace-write\",\"deny_read\":"
                              "[\"sub\",\"/tmp\"]}",
                           &sb, &err),
                   CAPSID_EPOLICY);
  /* /tmp is a writable root (and may hold the test's cwd too). */
  assert_string_equal(err.field, "policy.deny_read[1]");
  assert_non_null(strstr(err.message, "\"/tmp\" holds the"));
  capsid__error_free(&err);
  /* More matches than the bound. */
  for (i = 0; i <= CAPSID__DENY_READ_MAX; i++)
    test_system("touch '%s/sub/f%d.key'", f->ws, i);
  assert_int_equal(resolve(f, "{\"mode\":\"read-only\",\"deny_read\":"
                              "[\"sub/*.key\"]}",
                           &sb, &err),
                   CAPSID_EPOLICY);
  assert_non_null(strstr(err.message, "more than"));
  capsid__error_free(&err);
  /* Their directory is one path. */
  assert_int_equal(resolve(f, "{\"mode\":\"read-only\",\"deny_read\":"
                              "[\"sub/*.key\",\"sub\"]}",
                           &sb, &err),
                   CAPSID_EPOLICY);
  capsid__error_free(&err);
  assert_int_equal(resolve(f, "{\"mode\":\"read-only\",\"deny_read\":"
                              "[\"sub\",\"sub/*.key\"]}",
                           &sb, &err),
                   0);
  assert_int_equal(sb.deny_read.n, 1);
  capsid__sandbox_free(&sb);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse),
      cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
      cmocka_unit_test_setup_teardown(test_resolve_errors, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
