/* The pure pieces of `capsid batch`'s habits (issue 18): RFC 3339 times
 * of results, --halt as parallel reads it, the defaults merged into a
 * line, the keys --resume matches jobs by. */
#include "test-common.h"

#include "batch.h"
#include "resultline.h"

#include <string.h>

static void test_rfc3339(void** state) {
  char buf[40];

  (void)state;
  assert_string_equal(scale_rfc3339(0, buf, sizeof(buf)),
                      "1970-01-01T00:00:00.000Z");
  /* date -u -d @1796596274 */
  assert_string_equal(scale_rfc3339(1796596274123456LL, buf, sizeof(buf)),
                      "2026-12-06T22:31:14.123Z");
  /* A leap day, and the day after. */
  assert_string_equal(scale_rfc3339(951782400000000LL, buf, sizeof(buf)),
                      "2000-02-29T00:00:00.000Z");
  assert_string_equal(scale_rfc3339(951868799999000LL, buf, sizeof(buf)),
                      "2000-02-29T23:59:59.999Z");
  assert_string_equal(scale_rfc3339(4107542400000000LL, buf, sizeof(buf)),
                      "2100-03-01T00:00:00.000Z");
  /* Before the epoch: the millisecond counts forward from the second. */
  assert_string_equal(scale_rfc3339(-1000, buf, sizeof(buf)),
                      "1969-12-31T23:59:59.999Z");
}


static void test_halt_parse(void** state) {
  cli_halt_t h;

  (void)state;
  assert_int_equal(cli_halt_parse("now,fail=1", &h), 0);
  assert_int_equal(h.when, HALT_NOW);
  assert_int_equal(h.on, HALT_FAIL);
  assert_int_equal(h.count, 1);
  assert_int_equal(cli_halt_parse("soon,fail=10%", &h), 0);
  assert_int_equal(h.when, HALT_SOON);
  assert_true(h.percent == 10.0);
  assert_int_equal(cli_halt_parse("soon,success=3", &h), 0);
  assert_int_equal(h.on, HALT_SUCCESS);
  assert_int_equal(cli_halt_parse("now,done=50%", &h), 0);
  assert_int_equal(h.on, HALT_DONE);
  assert_int_equal(cli_halt_parse("never", &h), 0);
  assert_int_equal(h.when, HALT_NEVER);
  assert_int_equal(cli_halt_parse("2", &h), 0); /* parallel's old form */
  assert_int_equal(h.when, HALT_NOW);
  assert_int_equal(h.count, 1);
  assert_int_equal(cli_halt_parse("1", &h), 0);
  assert_int_equal(h.when, HALT_SOON);
  assert_int_equal(cli_halt_parse("later,fail=1", &h), -1);
  assert_int_equal(cli_halt_parse("now,fail=0", &h), -1);
  assert_int_equal(cli_halt_parse("now,fail=-1", &h), -1);
  assert_int_equal(cli_halt_parse("now,fail=1.5", &h), -1);
  assert_int_equal(cli_halt_parse("now,fail=101%", &h), -1);
  assert_int_equal(cli_halt_parse("now,fail=", &h), -1);
  assert_int_equal(cli_halt_parse("now,oops=1", &h), -1);
  assert_int_equal(cli_halt_parse("now", &h), -1);
}


static void test_halt_reached(void** state) {
  cli_halt_t h;

  (void)state;
  cli_halt_parse("now,fail=2", &h);
  assert_false(cli_halt_reached(&h, 5, 4, 1));
  assert_true(cli_halt_reached(&h, 6, 4, 2));
  /* A percentage waits for three jobs. */
  cli_halt_parse("soon,fail=50%", &h);
  assert_false(cli_halt_reached(&h, 1, 0, 1));
  assert_false(cli_halt_reached(&h, 2, 0, 2));
  assert_true(cli_halt_reached(&h, 3, 1, 2));
  assert_false(cli_halt_reached(&h, 3, 2, 1));
  cli_halt_parse("now,done=2", &h);
  assert_true(cli_halt_reached(&h, 2, 1, 1));
  cli_halt_parse("never", &h);
  assert_false(cli_halt_reached(&h, 100, 0, 100));
}


static json_t* merged(const json_t* defaults, const char* line) {
  char* out = NULL;
  size_t n = 0;
  json_t* j;

  assert_int_equal(cli_batch_apply_defaults(defaults, line, strlen(line),
                                            &out, &n), 0);
  if (out == NULL)
    return NULL;
  j = json_loadb(out, n, 0, NULL);
  capsid__free(out);
  assert_non_null(j);
  return j;
}


static void test_defaults(void** state) {
  json_t* d = json_object();
  json_t* j;

  (void)state;
  /* No defaults: the line is kept as it is. */
  assert_null(merged(d, "{\"argv\":[\"true\"]}"));
  assert_int_equal(cli_batch_default(d, "--cwd", "cwd", "/src"), 0);
  assert_int_equal(cli_batch_default(d, "--env", "env", "A=1"), 0);
  assert_int_equal(cli_batch_default(d, "--env", "env", "B=x=y"), 0);
  assert_int_equal(cli_batch_default(d, "--timeout", "timeout", "10s"), 0);
  assert_int_equal(cli_batch_default(d, "--writable-root",
                                     "writable_roots", "/a"), 0);
  assert_int_equal(cli_batch_default(d, "--writable-root",
                                     "writable_roots", "/b"), 0);
  assert_int_equal(cli_batch_default(d, "--network", "network", ""), 0);
  assert_int_equal(cli_batch_default(d, "--policy", "policy",
                                     "{\"mode\":\"read-only\"}"), 0);
  assert_int_equal(cli_batch_default(d, "--max-processes", "max_processes",
                                     "64"), 0);
  assert_int_equal(cli_batch_default(d, "--env", "env", "NOEQUALS"), -1);
  assert_int_equal(cli_batch_default(d, "--timeout", "timeout", "soon"), -1);
  assert_int_equal(cli_batch_default(d, "--mode", "mode", "root"), -1);
  assert_int_equal(cli_batch_default(d, "--policy", "policy", "{"), -1);

  j = merged(d, "{\"argv\":[\"true\"]}");
  assert_string_equal(json_string_value(json_object_get(j, "cwd")), "/src");
  assert_string_equal(json_string_value(json_object_get(
                          json_object_get(j, "env"), "B")), "x=y");
  assert_int_equal(json_array_size(json_object_get(j, "writable_roots")), 2);
  assert_true(json_is_true(json_object_get(j, "network")));
  assert_true(json_is_object(json_object_get(j, "policy")));
  assert_int_equal(json_integer_value(json_object_get(j, "max_processes")),
                   64);
  json_decref(j);

  /* The line's own fields win; env is merged; timeout_ms beats -t. */
  j = merged(d, "{\"argv\":[\"true\"],\"cwd\":\"/mine\",\"env\":{\"A\":"
                "\"2\"},\"timeout_ms\":5,\"writable_roots\":[],"
                "\"network\":false}");
  assert_string_equal(json_string_value(json_object_get(j, "cwd")), "/mine");
  assert_string_equal(json_string_value(json_object_get(
                          json_object_get(j, "env"), "A")), "2");
  assert_string_equal(json_string_value(json_object_get(
                          json_object_get(j, "env"), "B")), "x=y");
  assert_null(json_object_get(j, "timeout"));
  assert_int_equal(json_array_size(json_object_get(j, "writable_roots")), 0);
  assert_true(json_is_false(json_object_get(j, "network")));
  json_decref(j);

  /* Not an object: left to the job parser, which says what is wrong. */
  assert_null(merged(d, "[1,2]"));
  assert_null(merged(d, "{bad"));
  json_decref(d);
}


static void test_job_keys(void** state) {
  char buf[64];
  json_t* s = json_string("a\t1");
  json_t* n = json_integer(7);

  (void)state;
  assert_string_equal(cli_job_key(s, 3, buf, sizeof(buf)), "\"a\\t1\"");
  assert_string_equal(cli_job_key(n, 3, buf, sizeof(buf)), "7");
  assert_string_equal(cli_job_key(NULL, 3, buf, sizeof(buf)), "line:3");
  json_decref(s);
  json_decref(n);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc3339),
      cmocka_unit_test(test_halt_parse),
      cmocka_unit_test(test_halt_reached),
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_job_keys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
