/* capsid acl and capsid audit from the command line: exit statuses, JSON,
 * and the error messages a person sees. */
#include "acl-test-util.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define CAPSID CAPSID_TEST_BIN

/* Runs capsid with args in env CAPSID_STATE_DIR=state; stdout into *out
 * (malloc'd). Returns the exit status. */
static int run(const fixture_t* f, char** out, const char* fmt, ...)
    CAPSID__PRINTF(3, 4);
static int run(const fixture_t* f, char** out, const char* fmt, ...) {
  char args[2048], path[1100];
  va_list ap;
  size_t len;
  int rc;

  va_start(ap, fmt);
  vsnprintf(args, sizeof(args), fmt, ap);
  va_end(ap);
  snprintf(path, sizeof(path), "%s/stdout", f->root);
  rc = test_system("CAPSID_STATE_DIR='%s' %s %s > '%s' 2> '%s.err'",
                   f->state, CAPSID, args, path, path);
  if (out != NULL)
    *out = test_read_file(path, &len);
  return rc;
}


static json_t* parse(const char* text) {
  json_error_t e;
  json_t* j = json_loads(text, 0, &e);

  if (j == NULL)
    fail_msg("not JSON: %s (%s)", text, e.text);
  return j;
}


static void test_apply_status_revoke(void** state) {
  fixture_t f;
  char* out;
  json_t* j;

  (void)state;
  fixture_new(&f);
  assert_int_equal(run(&f, &out, "acl apply -C '%s' --uid %u --json", f.ws,
                       TEST_UID), 0);
  j = parse(out);
  assert_string_equal(json_string_value(json_object_get(j, "action")),
                      "apply");
  assert_int_equal(json_integer_value(json_object_get(
                       json_object_get(j, "stats"), "errors")), 0);
  assert_true(json_integer_value(json_object_get(
                  json_object_get(j, "stats"), "changed")) >= 7);
  json_decref(j);
  free(out);
  assert_true(acl_has(f.ws, "user:61001:rwx"));

  assert_int_equal(test_system("echo new > '%s/a/new'", f.ws), 0);
  assert_int_equal(run(&f, &out, "acl status -C '%s' --uid %u --json", f.ws,
                       TEST_UID), 0);
  j = parse(out);
  assert_true(json_is_true(json_object_get(j, "recorded")));
  assert_int_equal(json_integer_value(json_object_get(j, "drifted_dirs")), 1);
  assert_true(json_array_size(json_object_get(j, "granted")) >= 1);
  json_decref(j);
  free(out);

  assert_int_equal(run(&f, &out, "acl status -C '%s' --uid %u", f.ws,
                       TEST_UID), 0);
  assert_non_null(strstr(out, "drift: 1 of 4 recorded directories"));
  free(out);

  assert_int_equal(run(&f, &out, "acl revoke -C '%s' --uid %u", f.ws,
                       TEST_UID), 0);
  free(out);
  assert_int_equal(test_system("getfacl -R -s -p '%s' | grep -q .", f.ws), 1);
  assert_int_equal(run(&f, &out, "acl status -C '%s' --uid %u", f.ws,
                       TEST_UID), 0);
  assert_non_null(strstr(out, "nothing recorded"));
  free(out);
  fixture_free(&f);
}


static void test_usage_errors(void** state) {
  fixture_t f;
  char path[1100];
  char* err;
  size_t len;

  (void)state;
  fixture_new(&f);
  snprintf(path, sizeof(path), "%s/stdout.err", f.root);
  assert_int_equal(run(&f, NULL, "acl"), 2);
  assert_int_equal(run(&f, NULL, "acl frobnicate -C '%s'", f.ws), 2);
  err = test_read_file(path, &len);
  assert_non_null(strstr(err, "unknown action 'frobnicate'"));
  free(err);
  assert_int_equal(run(&f, NULL, "acl apply -C '%s'", f.ws), 2);
  err = test_read_file(path, &len);
  assert_non_null(strstr(err, "--uid is required"));
  free(err);
  assert_int_equal(run(&f, NULL, "acl apply -C '%s' --uid x1", f.ws), 2);
  assert_int_equal(run(&f, NULL, "acl apply -C '%s' --uid 1 --treads 2",
                       f.ws), 2);
  err = test_read_file(path, &len);
  assert_non_null(strstr(err, "did you mean '--threads'"));
  free(err);
  assert_int_equal(run(&f, NULL, "acl apply -C '%s/missing' --uid 1", f.ws),
                   2);
  assert_int_equal(run(&f, NULL, "acl --help"), 0);
  assert_int_equal(run(&f, NULL, "help acl"), 0);
  assert_int_equal(run(&f, NULL, "audit --help"), 0);
  fixture_free(&f);
}


static void test_busy_lock_exits_3(void** state) {
  capsid__acl_plan_t plan;
  fixture_t f;
  char* lock;
  int fd;

  (void)state;
  fixture_new(&f);
  assert_int_equal(test_system("mkdir -p '%s/acl'", f.state), 0);
  simple_plan(f.ws, &plan); /* the key is the workspace root */
  lock = capsid__acl_record_path(f.state, f.ws, ".lock");
  fd = open(lock, O_RDWR | O_CREAT, 0600);
  assert_int_equal(flock(fd, LOCK_EX), 0);
  assert_int_equal(run(&f, NULL, "acl apply -C '%s' --uid %u --no-wait",
                       f.ws, TEST_UID), 3);
  close(fd);
  assert_int_equal(run(&f, NULL, "acl apply -C '%s' --uid %u --no-wait",
                       f.ws, TEST_UID), 0);
  assert_int_equal(run(&f, NULL, "acl revoke -C '%s' --uid %u", f.ws,
                       TEST_UID), 0);
  capsid__free(lock);
  capsid__acl_plan_free(&plan);
  fixture_free(&f);
}


static void test_audit_finds_writable_holes(void** state) {
  fixture_t f;
  char* out;
  json_t *j, *found;
  char rel[1100];
  size_t i, len;
  int hole = 0, gdir = 0, aclg = 0, inside = 0, bad = 0;

  (void)state;
  fixture_new(&f);
  assert_int_equal(test_system("cd '%s' && touch hole && chmod 666 hole && "
                               "mkdir gdir && chgrp 61000 gdir && chmod 775 "
                               "gdir && touch aclg && setfacl -m g:61000:rw- "
                               "aclg && touch ro && chmod 644 ro && chmod "
                               "o+w '%s/top' && touch \"$(printf "
                               "'bad\\377name')\" && chmod 666 bad*",
                               f.out, f.ws),
                   0);
  /* The sentinel tree plus the workspace, which is writable anyway. */
  assert_int_equal(run(&f, &out, "audit --json -g 61000 -w '%s' '%s' '%s'",
                       f.ws, f.out, f.ws), 1);
  j = parse(out);
  found = json_object_get(j, "findings");
  for (i = 0; i < json_array_size(found); i++) {
    const char* p = json_string_value(
        json_object_get(json_array_get(found, i), "path"));
    hole |= strstr(p, "/out/hole") != NULL;
    /* A name that is not UTF-8 comes out with U+FFFD, not dropped. */
    bad |= strstr(p, "/out/bad\xef\xbf\xbdname") != NULL;
    gdir |= strstr(p, "/out/gdir") != NULL;
    aclg |= strstr(p, "/out/aclg") != NULL;
    inside |= strstr(p, "/ws/") != NULL;
    assert_null(strstr(p, "/out/ro"));
    assert_null(strstr(p, "/out/file"));
  }
  assert_true(hole && gdir && aclg && bad);
  assert_false(inside);
  assert_false(json_is_true(json_object_get(j, "timed_out")));
  json_decref(j);
  free(out);
  /* Without the group, only "other" counts. */
  assert_int_equal(run(&f, &out, "audit --json '%s'", f.out), 1);
  j = parse(out);
  assert_int_equal(json_array_size(json_object_get(j, "findings")), 2);
  json_decref(j);
  free(out);
  /* A relative DIR, as a user types it: the same two findings. The scan
   * took "." as a path with a slash in it and crashed. */
  assert_int_equal(test_system("cd '%s' && CAPSID_STATE_DIR='%s' %s audit "
                               "--json . > '%s/rel'",
                               f.out, f.state, CAPSID, f.root),
                   1);
  snprintf(rel, sizeof(rel), "%s/rel", f.root);
  out = test_read_file(rel, &len);
  j = parse(out);
  assert_int_equal(json_array_size(json_object_get(j, "findings")), 2);
  json_decref(j);
  free(out);
  /* A clean tree: nothing, exit 0. */
  assert_int_equal(run(&f, &out, "audit '%s/a'", f.ws), 0);
  free(out);
  fixture_free(&f);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_apply_status_revoke),
      cmocka_unit_test(test_usage_errors),
      cmocka_unit_test(test_busy_lock_exits_3),
      cmocka_unit_test(test_audit_finds_writable_holes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
