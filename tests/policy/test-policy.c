/* Policy parsing (every field, every error) and resolution. */
#include "test-common.h"

#include "policy.h"
#include "workspace-rule.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int parse_ok(const char* text, capsid__policy_t* p) {
  capsid_error_t err;
  int rc;

  memset(&err, 0, sizeof(err));
  rc = capsid__policy_parse(text, p, &err);
  if (rc != 0)
    print_error("unexpected error: %s\n", err.message);
  capsid__error_free(&err);
  return rc;
}


/* Parses text expecting failure; the message must contain `needle` and the
 * field must equal `field`. */
static void parse_fails(const char* text, const char* field,
                        const char* needle) {
  capsid__policy_t p;
  capsid_error_t err;

  memset(&err, 0, sizeof(err));
  assert_int_equal(capsid__policy_parse(text, &p, &err), CAPSID_EPOLICY);
  assert_int_equal(err.code, CAPSID_EPOLICY);
  assert_int_equal(err.stage, CAPSID_STAGE_POLICY);
  assert_non_null(err.message);
  if (strstr(err.message, needle) == NULL)
    fail_msg("message \"%s\" lacks \"%s\"", err.message, needle);
  if (field != NULL)
    assert_string_equal(err.field, field);
  capsid__error_free(&err);
}


static void test_policy_presets(void** state) {
  capsid__policy_t p;

  (void)state;
  assert_int_equal(parse_ok("read-only", &p), 0);
  assert_int_equal(p.kind, CAPSID__POLICY_READ_ONLY);
  capsid__policy_free(&p);
  assert_int_equal(parse_ok("workspace-write", &p), 0);
  assert_int_equal(p.kind, CAPSID__POLICY_WORKSPACE_WRITE);
  assert_false(p.network_access);
  capsid__policy_free(&p);
  assert_int_equal(parse_ok(NULL, &p), 0);
  assert_int_equal(p.kind, CAPSID__POLICY_WORKSPACE_WRITE);
  capsid__policy_free(&p);
}


static void test_policy_json_every_field(void** state) {
  capsid__policy_t p;

  (void)state;
  assert_int_equal(
      parse_ok("{\"mode\":\"workspace-write\",\"writable_roots\":[\"a\",\"/b\"],"
               "\"network_access\":true,\"exclude_tmpdir_env_var\":true,"
               "\"exclude_slash_tmp\":true,\"read_only_paths\":[\"cfg\"]}",
               &p),
      0);
  assert_int_equal(p.kind, CAPSID__POLICY_WORKSPACE_WRITE);
  assert_true(p.network_access);
  assert_true(p.exclude_tmpdir_env_var);
  assert_true(p.exclude_slash_tmp);
  assert_int_equal(p.writable_roots.n, 2);
  assert_string_equal(p.writable_roots.v[1], "/b");
  assert_int_equal(p.read_only_paths.n, 1);
  capsid__policy_free(&p);
  /* Codex spells the tag "type" and the alpha CLI said workspace_roots. */
  assert_int_equal(parse_ok("{\"type\":\"read-only\",\"network_access\":false}",
                            &p),
                   0);
  assert_int_equal(p.kind, CAPSID__POLICY_READ_ONLY);
  capsid__policy_free(&p);
  assert_int_equal(
      parse_ok("{\"mode\":\"workspace-write\",\"workspace_roots\":[\"x\"]}", &p),
      0);
  assert_int_equal(p.writable_roots.n, 1);
  capsid__policy_free(&p);
}


static void test_policy_errors(void** state) {
  (void)state;
  parse_fails("danger-full-access", "policy", "not supported");
  parse_fails("{\"mode\":\"danger-full-access\"}", "policy.mode",
              "not supported");
  parse_fails("{\"mode\":\"external-sandbox\"}", "policy.mode",
              "not supported");
  parse_fails("bogus", "policy", "unknown policy \"bogus\"");
  parse_fails("{\"mode\":\"workspace-write\"", "policy", "not valid JSON");
  parse_fails("[1]", "policy", "must be a JSON object");
  parse_fails("{}", "policy.mode", "missing");
  parse_fails("{\"mode\":7}", "policy.mode", "must be a string");
  parse_fails("{\"mode\":\"workspace-write\",\"network_acess\":true}",
              "policy.network_acess", "did you mean \"network_access\"");
  parse_fails("{\"mode\":\"workspace-write\",\"zzz\":1}", "policy.zzz",
              "unknown field");
  parse_fails("{\"mode\":\"workspace-write\",\"network_access\":\"yes\"}",
              "policy.network_access", "true or false");
  parse_fails("{\"mode\":\"workspace-write\",\"writable_roots\":\"/x\"}",
              "policy.writable_roots", "array of strings");
  parse_fails("{\"mode\":\"workspace-write\",\"writable_roots\":[\"/x\",3]}",
              "policy.writable_roots[1]", "must be a string");
  parse_fails("{\"mode\":\"workspace-write\",\"writable_roots\":[\"\"]}",
              "policy.writable_roots[0]", "non-empty");
  parse_fails("{\"mode\":\"read-only\",\"writable_roots\":[\"/x\"]}",
              "policy.writable_roots", "not allowed");
  parse_fails("{\"mode\":\"read-only\",\"mode\":\"read-only\"}", NULL,
              "not valid JSON");
}


typedef struct {
  char* dir;
} fixture_t;


static int setup(void** state) {
  fixture_t* f = calloc(1, sizeof(*f));
  char path[PATH_MAX];

  f->dir = test_mkdtemp();
  snprintf(path, sizeof(path), "%s/ws/.git", f->dir);
  test_system("mkdir -p '%s/ws/.git' '%s/ws/sub' '%s/extra' '%s/tmpdir'",
              f->dir, f->dir, f->dir, f->dir);
  /* Writable by others, as a shared temp dir or a workspace is: a link
   * in it may be anyone's. */
  chmod(f->dir, 01777);
  test_system("ln -s '%s/extra' '%s/link-to-extra'", f->dir, f->dir);
  test_system("touch '%s/afile'", f->dir);
  *state = f;
  return 0;
}


static int teardown(void** state) {
  fixture_t* f = *state;

  test_rmtree(f->dir);
  free(f->dir);
  free(f);
  return 0;
}


static int resolve(fixture_t* f, const char* policy_text, const char* cwd,
                   const char* const* extra, const char* const* extra_ro,
                   capsid__sandbox_t* sb, capsid_error_t* err) {
  capsid__policy_t p;
  capsid__resolve_in_t in;
  char path[PATH_MAX];
  int rc;

  (void)f;
  memset(err, 0, sizeof(*err));
  rc = capsid__policy_parse(policy_text, &p, err);
  if (rc != 0)
    return rc;
  memset(&in, 0, sizeof(in));
  snprintf(path, sizeof(path), "%s", cwd);
  in.cwd = path;
  in.extra_writable = extra;
  in.extra_read_only = extra_ro;
  in.network = -1;
  rc = capsid__sandbox_resolve(&p, &in, sb, err);
  capsid__policy_free(&p);
  return rc;
}


static void test_resolve_workspace_write(void** state) {
  fixture_t* f = *state;
  capsid__sandbox_t sb;
  capsid_error_t err;
  char cwd[PATH_MAX], want[PATH_MAX];
  const char* extra[] = {"../extra", NULL};
  const char* ro[] = {"sub/config", NULL};

  snprintf(cwd, sizeof(cwd), "%s/ws", f->dir);
  assert_int_equal(resolve(f, "workspace-write", cwd, extra, ro, &sb, &err),
                   0);
  /* cwd first, the extra root canonicalised, then /tmp. */
  assert_string_equal(sb.writable.v[0], cwd);
  snprintf(want, sizeof(want), "%s/extra", f->dir);
  assert_string_equal(sb.writable.v[1], want);
  assert_int_equal(sb.first_tmp, 2);
  assert_string_equal(sb.writable.v[2], "/tmp");
  /* .git exists so it is protected; the carve-out is missing, so it is
   * listed to be created before the job. */
  snprintf(want, sizeof(want), "%s/ws/.git", f->dir);
  assert_true(capsid__strv_contains(&sb.protected_paths, want));
  snprintf(want, sizeof(want), "%s/ws/sub/config", f->dir);
  assert_true(capsid__strv_contains(&sb.protected_paths, want));
  assert_true(capsid__strv_contains(&sb.missing_protected, want));
  assert_false(sb.network);
  capsid__sandbox_free(&sb);
}


static void test_resolve_policy_roots_and_tmp_flags(void** state) {
  fixture_t* f = *state;
  capsid__sandbox_t sb;
  capsid_error_t err;
  char cwd[PATH_MAX], policy[PATH_MAX * 2], want[PATH_MAX];

  snprintf(cwd, sizeof(cwd), "%s/ws", f->dir);
  snprintf(policy, sizeof(policy),
           "{\"mode\":\"workspace-write\",\"writable_roots\":[\"../extra\"],"
           "\"exclude_slash_tmp\":true,\"network_access\":true}");
  assert_int_equal(resolve(f, policy, cwd, NULL, NULL, &sb, &err), 0);
  assert_int_equal(sb.writable.n, 2);
  snprintf(want, sizeof(want), "%s/extra", f->dir);
  assert_string_equal(sb.writable.v[1], want);
  assert_false(capsid__strv_contains(&sb.writable, "/tmp"));
  assert_true(sb.network);
  capsid__sandbox_free(&sb);
}


static void test_resolve_read_only(void** state) {
  fixture_t* f = *state;
  capsid__sandbox_t sb;
  capsid_error_t err;
  char cwd[PATH_MAX];
  const char* extra[] = {"/tmp", NULL};

  snprintf(cwd, sizeof(cwd), "%s/ws", f->dir);
  assert_int_equal(resolve(f, "read-only", cwd, NULL, NULL, &sb, &err), 0);
  assert_int_equal(sb.writable.n, 0);
  assert_int_equal(sb.kind, CAPSID__POLICY_READ_ONLY);
  assert_false(sb.cwd_untrusted);
  capsid__sandbox_free(&sb);
  /* A system tree may be read, but it could not be a workspace: elevated
   * mode must grant its identity nothing on the way there. */
  assert_int_equal(resolve(f, "read-only", "/etc", NULL, NULL, &sb, &err), 0);
  assert_true(sb.cwd_untrusted);
  capsid__sandbox_free(&sb);
  /* Adding writable roots to read-only is a contradiction, not a merge. */
  assert_int_equal(resolve(f, "read-only", cwd, extra, NULL, &sb, &err),
                   CAPSID_EPOLICY);
  assert_string_equal(err.field, "writable_roots");
  capsid__error_free(&err);
}


static void test_resolve_errors(void** state) {
  fixture_t* f = *state;
  capsid__sandbox_t sb;
  capsid_error_t err;
  char cwd[PATH_MAX], file[PATH_MAX];
  const char* slash[] = {"/", NULL};
  const char* missing[] = {"nope", NULL};
  const char* escape[] = {"../../../../../../../../..", NULL};
  const char* ro_escape[] = {"newdir/../../x", NULL};
  const char* linked[] = {"../link-to-extra", NULL};

  snprintf(cwd, sizeof(cwd), "%s/ws", f->dir);
  assert_int_equal(resolve(f, "workspace-write", "/nonexistent/capsid", NULL,
                           NULL, &sb, &err),
                   CAPSID_ENOENT);
  assert_string_equal(err.field, "cwd");
  capsid__error_free(&err);

  snprintf(file, sizeof(file), "%s/afile", f->dir);
  assert_int_equal(resolve(f, "workspace-write", file, NULL, NULL, &sb, &err),
                   CAPSID_ENOTDIR);
  assert_string_equal(err.field, "cwd");
  capsid__error_free(&err);

  assert_int_equal(resolve(f, "workspace-write", cwd, slash, NULL, &sb, &err),
                   CAPSID_EPOLICY);
  assert_string_equal(err.field, "writable_roots[0]");
  assert_non_null(strstr(err.message, "whole filesystem"));
  capsid__error_free(&err);

  /* ".." climbing to / is still /. */
  assert_int_equal(resolve(f, "workspace-write", cwd, escape, NULL, &sb, &err),
                   CAPSID_EPOLICY);
  capsid__error_free(&err);

  assert_int_equal(
      resolve(f, "workspace-write", cwd, missing, NULL, &sb, &err),
      CAPSID_ENOENT);
  assert_string_equal(err.field, "writable_roots[0]");
  capsid__error_free(&err);

  /* A root named through a link anyone but root could have made (this
   * one lies under the shared temp dir) is refused, naming the link. */
  assert_int_equal(resolve(f, "workspace-write", cwd, linked, NULL, &sb,
                           &err),
                   CAPSID_EPOLICY);
  assert_string_equal(err.field, "writable_roots[0]");
  assert_non_null(strstr(err.message, "link-to-extra -> "));
  assert_non_null(strstr(err.message, "name the directory itself"));
  capsid__error_free(&err);

  /* The path as given no longer leads where canonicalisation went (a
   * link swapped out between the two): refused. */
  snprintf(file, sizeof(file), "%s/extra", f->dir);
  assert_int_equal(capsid__root_check(NULL, cwd, file, "cwd", 0, &err),
                   CAPSID_EPOLICY);
  assert_non_null(strstr(err.message, "changed while"));
  capsid__error_free(&err);
  assert_int_equal(capsid__root_check(NULL, file, file, "cwd", 0, &err), 0);

  /* A missing carve-out may not smuggle ".." past the part that exists. */
  assert_int_equal(
      resolve(f, "workspace-write", cwd, NULL, ro_escape, &sb, &err),
      CAPSID_EINVAL);
  assert_string_equal(err.field, "read_only_paths[0]");
  capsid__error_free(&err);
}


/* Capsid as root: a directory that holds another account's home is
 * refused even when root owns it. The account comes from a passwd file
 * bound over /etc/passwd in a mount namespace of a child's own. */
static void test_resolve_refuses_homes(void** state) {
  fixture_t* f = *state;
  capsid__sandbox_t sb;
  capsid_error_t err;
  char cwd[PATH_MAX], passwd[PATH_MAX], line[PATH_MAX + 64];
  int status;
  pid_t pid;

  if (geteuid() != 0) {
    if (test_may_skip("the home rule is for capsid running as root"))
      skip();
    fail();
  }
  snprintf(cwd, sizeof(cwd), "%s/ws", f->dir);
  snprintf(passwd, sizeof(passwd), "%s/passwd", f->dir);
  snprintf(line, sizeof(line), "root:x:0:0::/root:/bin/sh\n"
           "someone:x:4243:4243::%s/ws/sub:/bin/sh\n", f->dir);
  assert_int_equal(test_write_file(passwd, line, strlen(line)), 0);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    if (unshare(CLONE_NEWNS) != 0 ||
        mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount(passwd, "/etc/passwd", NULL, MS_BIND, NULL) != 0)
      _exit(3);
    unsetenv("SUDO_UID");
    if (resolve(f, "workspace-write", cwd, NULL, NULL, &sb, &err) !=
            CAPSID_EPOLICY ||
        strstr(err.message, "home directory of someone") == NULL)
      _exit(1);
    capsid__error_free(&err);
    /* Control: a directory beside it. */
    snprintf(cwd, sizeof(cwd), "%s/extra", f->dir);
    if (resolve(f, "workspace-write", cwd, NULL, NULL, &sb, &err) != 0)
      _exit(2);
    capsid__sandbox_free(&sb);
    _exit(0);
  }
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}


/* Missing protected names and carve-outs are listed to be made (as
 * placeholders) for the job's life; a carve-out must lie in a writable
 * root and never be reached through a link (issue 13, classes 2, 8). */
static void test_resolve_missing_and_links(void** state) {
  fixture_t* f = *state;
  capsid__sandbox_t sb;
  capsid_error_t err;
  char cwd[PATH_MAX], want[PATH_MAX + 64];
  const char* nested[] = {"conf/deep/secret", "./sub//x/", NULL};
  const char* outside[] = {"cfg/nologin", NULL};
  const char* inside[] = {"inner/x", NULL};
  const char* beyond[] = {"../extra/x", NULL};
  const char* not_root[] = {NULL, NULL};

  snprintf(cwd, sizeof(cwd), "%s/ws", f->dir);
  test_system("ln -s '%s/extra' '%s/cfg' && ln -s sub '%s/inner'", f->dir,
              cwd, cwd);
  assert_int_equal(resolve(f, "workspace-write", cwd, NULL, nested, &sb,
                           &err),
                   0);
  /* .git exists: protected, not missing; .codex and .agents missing. */
  snprintf(want, sizeof(want), "%s/.git", cwd);
  assert_false(capsid__strv_contains(&sb.missing_protected, want));
  snprintf(want, sizeof(want), "%s/.codex", cwd);
  assert_true(capsid__strv_contains(&sb.missing_protected, want));
  assert_false(capsid__strv_contains(&sb.protected_paths, want));
  snprintf(want, sizeof(want), "%s/.agents", cwd);
  assert_true(capsid__strv_contains(&sb.missing_protected, want));
  /* A nested missing carve-out: its first missing component. */
  snprintf(want, sizeof(want), "%s/conf/deep/secret", cwd);
  assert_true(capsid__strv_contains(&sb.protected_paths, want));
  snprintf(want, sizeof(want), "%s/conf", cwd);
  assert_true(capsid__strv_contains(&sb.missing_protected, want));
  snprintf(want, sizeof(want), "%s/sub/x", cwd);
  assert_true(capsid__strv_contains(&sb.protected_paths, want));
  assert_true(capsid__strv_contains(&sb.missing_protected, want));
  capsid__sandbox_free(&sb);

  assert_int_equal(resolve(f, "workspace-write", cwd, NULL, outside, &sb,
                           &err),
                   CAPSID_EPOLICY);
  assert_string_equal(err.field, "read_only_paths[0]");
  assert_non_null(strstr(err.message, "symbolic link"));
  capsid__error_free(&err);
  assert_int_equal(resolve(f, "workspace-write", cwd, NULL, inside, &sb,
                           &err),
                   CAPSID_EPOLICY);
  assert_non_null(strstr(err.message, "symbolic link"));
  capsid__error_free(&err);
  assert_int_equal(resolve(f, "workspace-write", cwd, NULL, beyond, &sb,
                           &err),
                   CAPSID_EINVAL);
  capsid__error_free(&err);
  /* Outside every writable root (the fixture is under /tmp). */
  snprintf(want, sizeof(want), "%s/extra/x", f->dir);
  not_root[0] = want;
  assert_int_equal(resolve(f, "{\"mode\":\"workspace-write\","
                              "\"exclude_slash_tmp\":true}",
                           cwd, NULL, not_root, &sb, &err),
                   CAPSID_EPOLICY);
  assert_non_null(strstr(err.message, "not inside a writable root"));
  capsid__error_free(&err);
}


static void assert_strv_equal(const capsid__strv_t* a,
                              const capsid__strv_t* b) {
  size_t i;

  assert_int_equal(a->n, b->n);
  for (i = 0; i < a->n; i++)
    assert_string_equal(a->v[i], b->v[i]);
}


/* A batch line's policy object is parsed as a JSON value with the line
 * (scale/jobline.c), not written back to text: the sandbox it gives must
 * be the one the same policy as text gives, root for root, carve-out for
 * carve-out, network included; its errors must be the text's too. */
static void test_policy_object_is_the_text(void** state) {
  static const char* const texts[] = {
      ("{\"mode\":\"workspace-write\",\"writable_roots\":[\"../extra\"],"
       "\"read_only_paths\":[\"sub/config\",\"sub\"],"
       "\"network_access\":true,\"exclude_tmpdir_env_var\":true}"),
      ("{\"type\":\"workspace-write\",\"exclude_slash_tmp\":true,"
       "\"read_only_paths\":[\"sub/missing/deep\"]}"),
      "{\"mode\":\"read-only\",\"network_access\":false}",
      "\"read-only\"",
      "\"workspace-write\"",
  };
  static const char* const bad[] = {
      "{\"mode\":\"workspace-write\",\"bogus\":1}",
      "{\"mode\":\"read-only\",\"writable_roots\":[\"/x\"]}",
      "\"\"",
      "\"frobnicate\"",
  };
  fixture_t* f = *state;
  capsid__resolve_in_t in;
  char cwd[PATH_MAX], tmpdir[PATH_MAX];
  size_t i;

  snprintf(cwd, sizeof(cwd), "%s/ws", f->dir);
  snprintf(tmpdir, sizeof(tmpdir), "%s/tmpdir", f->dir);
  memset(&in, 0, sizeof(in));
  in.cwd = cwd;
  in.network = -1;
  in.tmpdirs[0] = tmpdir;
  for (i = 0; i < CAPSID__ARRAY_SIZE(texts); i++) {
    capsid__policy_t from_text, from_json;
    capsid__sandbox_t a, b;
    capsid_error_t err;
    json_error_t jerr;
    json_t* v = json_loads(texts[i], JSON_DECODE_ANY, &jerr);
    const char* text;

    assert_non_null(v);
    /* A preset is a JSON string on the line and bare text elsewhere. */
    text = json_is_string(v) ? json_string_value(v) : texts[i];
    memset(&err, 0, sizeof(err));
    assert_int_equal(capsid__policy_parse(text, &from_text, &err), 0);
    assert_int_equal(capsid__policy_from_json(v, &from_json, &err), 0);
    if (capsid__sandbox_resolve(&from_text, &in, &a, &err) != 0)
      fail_msg("%s: %s", texts[i], err.message);
    assert_int_equal(capsid__sandbox_resolve(&from_json, &in, &b, &err), 0);
    assert_int_equal(a.kind, b.kind);
    assert_int_equal(a.network, b.network);
    assert_string_equal(a.cwd, b.cwd);
    assert_int_equal(a.first_tmp, b.first_tmp);
    assert_strv_equal(&a.writable, &b.writable);
    assert_strv_equal(&a.protected_paths, &b.protected_paths);
    assert_strv_equal(&a.missing_protected, &b.missing_protected);
    assert_int_equal(a.cwd_untrusted, b.cwd_untrusted);
    capsid__sandbox_free(&a);
    capsid__sandbox_free(&b);
    capsid__policy_free(&from_text);
    capsid__policy_free(&from_json);
    json_decref(v);
  }
  for (i = 0; i < CAPSID__ARRAY_SIZE(bad); i++) {
    capsid__policy_t p;
    capsid_error_t e1, e2;
    json_error_t jerr;
    json_t* v = json_loads(bad[i], JSON_DECODE_ANY, &jerr);

    assert_non_null(v);
    memset(&e1, 0, sizeof(e1));
    memset(&e2, 0, sizeof(e2));
    assert_int_equal(capsid__policy_parse(json_is_string(v)
                                              ? json_string_value(v)
                                              : bad[i],
                                          &p, &e1),
                     CAPSID_EPOLICY);
    assert_int_equal(capsid__policy_from_json(v, &p, &e2), CAPSID_EPOLICY);
    assert_int_equal(e1.stage, e2.stage);
    assert_string_equal(e1.field, e2.field);
    assert_string_equal(e1.message, e2.message);
    capsid__error_free(&e1);
    capsid__error_free(&e2);
    json_decref(v);
  }
}


/* The copy a job takes of a line's parsed policy owns its strings. */
static void test_policy_copy(void** state) {
  capsid__policy_t p, c;

  (void)state;
  assert_int_equal(
      parse_ok("{\"mode\":\"workspace-write\",\"writable_roots\":[\"a\"],"
               "\"network_access\":true,\"exclude_slash_tmp\":true,"
               "\"read_only_paths\":[\"cfg\",\"b\"]}",
               &p),
      0);
  assert_int_equal(capsid__policy_copy(&c, &p), 0);
  capsid__policy_free(&p);
  assert_int_equal(c.kind, CAPSID__POLICY_WORKSPACE_WRITE);
  assert_true(c.network_access);
  assert_false(c.exclude_tmpdir_env_var);
  assert_true(c.exclude_slash_tmp);
  assert_int_equal(c.writable_roots.n, 1);
  assert_string_equal(c.writable_roots.v[0], "a");
  assert_int_equal(c.read_only_paths.n, 2);
  assert_string_equal(c.read_only_paths.v[1], "b");
  capsid__policy_free(&c);
}


static void test_path_is_within(void** state) {
  (void)state;
  assert_true(capsid__path_is_within("/a/b", "/a/b"));
  assert_true(capsid__path_is_within("/a/b/c", "/a/b"));
  assert_false(capsid__path_is_within("/a/bc", "/a/b"));
  assert_false(capsid__path_is_within("/a", "/a/b"));
  assert_true(capsid__path_is_within("/anything", "/"));
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_policy_presets),
      cmocka_unit_test(test_policy_json_every_field),
      cmocka_unit_test(test_policy_errors),
      cmocka_unit_test_setup_teardown(test_resolve_workspace_write, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_resolve_policy_roots_and_tmp_flags,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_resolve_read_only, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_resolve_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_resolve_refuses_homes, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_resolve_missing_and_links, setup,
                                      teardown),
      cmocka_unit_test(test_path_is_within),
      cmocka_unit_test_setup_teardown(test_policy_object_is_the_text, setup,
                                      teardown),
      cmocka_unit_test(test_policy_copy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
