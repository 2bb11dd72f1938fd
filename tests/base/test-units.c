/* Units, error tables and error formatting. */
#include "test-common.h"

#include <errno.h>
#include <string.h>

static void test_duration_parses(void** state) {
  static const struct {
    const char* text;
    uint64_t ms;
  } cases[] = {
      {"500ms", 500},   {"10s", 10000},  {"2m", 120000},
      {"1h", 3600000},  {"1.5s", 1500},  {"10ms", 10},
      {"90min", 5400000}, {" 3 S ", 3000},
      /* A bare number is seconds, as GNU timeout and systemd read it. */
      {"250", 250000},  {"10", 10000},   {"0.5", 500},
  };
  uint64_t ms = 0;
  size_t i;

  (void)state;
  for (i = 0; i < CAPSID__ARRAY_SIZE(cases); i++) {
    ms = 0;
    assert_int_equal(capsid_parse_duration(cases[i].text, &ms), 0);
    if (ms != cases[i].ms)
      fail_msg("\"%s\": %llu ms, expected %llu", cases[i].text,
               (unsigned long long)ms, (unsigned long long)cases[i].ms);
  }
}


static void test_duration_rejects(void** state) {
  uint64_t ms = 77;
  const char* bad[] = {"", "s", "-1s", "10x", "1e3", "ten", "1..2s",
                       "99999999999999999999s", NULL};
  int i;

  (void)state;
  for (i = 0; bad[i] != NULL; i++)
    assert_int_not_equal(capsid_parse_duration(bad[i], &ms), 0);
  assert_int_equal(ms, 77); /* untouched on failure */
  assert_int_equal(capsid_parse_duration(NULL, &ms), CAPSID_EINVAL);
  assert_int_equal(capsid_parse_duration("1s", NULL), CAPSID_EINVAL);
}


static void test_size_parses(void** state) {
  uint64_t b = 0;

  (void)state;
  assert_int_equal(capsid_parse_size("64M", &b), 0);
  assert_int_equal(b, 64ull << 20);
  assert_int_equal(capsid_parse_size("2G", &b), 0);
  assert_int_equal(b, 2ull << 30);
  assert_int_equal(capsid_parse_size("512k", &b), 0);
  assert_int_equal(b, 512ull << 10);
  assert_int_equal(capsid_parse_size("1MiB", &b), 0);
  assert_int_equal(b, 1ull << 20);
  assert_int_equal(capsid_parse_size("1.5K", &b), 0);
  assert_int_equal(b, 1536);
  assert_int_equal(capsid_parse_size("4096", &b), 0);
  assert_int_equal(b, 4096);
  assert_int_not_equal(capsid_parse_size("1Q", &b), 0);
  assert_int_not_equal(capsid_parse_size("M", &b), 0);
  assert_int_not_equal(capsid_parse_size("-5M", &b), 0);
  assert_int_not_equal(capsid_parse_size("99999999999T", &b), 0);
}


static void test_error_tables(void** state) {
  (void)state;
#define XX(name, value, msg)                                                 \
  assert_string_equal(capsid_strerror(CAPSID_E##name), msg);                 \
  assert_string_equal(capsid_err_name(CAPSID_E##name), "CAPSID_E" #name);    \
  assert_true(CAPSID_E##name < 0);
  CAPSID_ERRNO_MAP(XX)
#undef XX
  assert_string_equal(capsid_strerror(12345), "unknown error code");
  assert_string_equal(capsid_err_name(12345), "CAPSID_E?");
  assert_string_equal(capsid_stage_name(CAPSID_STAGE_LANDLOCK), "landlock");
  assert_string_equal(capsid_stage_name(999), "unknown-stage");
  assert_string_equal(capsid_mode_name(CAPSID_MODE_UNPRIVILEGED),
                      "unprivileged");
}


static void test_os_error_translation(void** state) {
  (void)state;
  assert_int_equal(capsid__translate_os_error(ENOENT), CAPSID_ENOENT);
  assert_int_equal(capsid__translate_os_error(EACCES), CAPSID_EACCES);
  assert_int_equal(capsid__translate_os_error(EMFILE), CAPSID_EMFILE);
  assert_int_equal(capsid__translate_os_error(0), 0);
  assert_int_equal(capsid__translate_os_error(EDOM), CAPSID_EUNKNOWN);
}


static void test_error_format(void** state) {
  capsid_error_t err;
  char buf[256];

  (void)state;
  memset(&err, 0, sizeof(err));
  assert_string_equal(capsid_error_format(&err, buf, sizeof(buf)), "");
  capsid__error_set(&err, CAPSID_ENOENT, CAPSID_STAGE_CHDIR, ENOENT,
                    "/nowhere", NULL, NULL);
  capsid_error_format(&err, buf, sizeof(buf));
  assert_non_null(strstr(buf, "chdir"));
  assert_non_null(strstr(buf, "/nowhere"));
  assert_non_null(strstr(buf, "no such file"));
  /* A message replaces the generic text; set() replaces earlier state. */
  capsid__error_set(&err, CAPSID_ESPEC, CAPSID_STAGE_SPEC, 0, NULL, "argv",
                    "argv must name a program");
  capsid_error_format(&err, buf, sizeof(buf));
  assert_string_equal(buf, "spec: argv must name a program");
  assert_null(err.path);
  /* Truncation keeps the result NUL-terminated. */
  capsid_error_format(&err, buf, 8);
  assert_int_equal(strlen(buf), 7);
  capsid__error_free(&err);
}


/* One sentence per error: the parts the message already carries are not
 * added again (they were: "policy: policy: unknown policy", "no such file
 * or directory: No such file or directory"). */
static void test_error_format_says_each_thing_once(void** state) {
  capsid_error_t err;
  char buf[512];

  (void)state;
  memset(&err, 0, sizeof(err));
  capsid__error_set(&err, CAPSID_EPOLICY, CAPSID_STAGE_POLICY, 0, NULL,
                    "policy", "policy: unknown policy \"%s\"", "root");
  assert_string_equal(capsid_error_format(&err, buf, sizeof(buf)),
                      "policy: unknown policy \"root\"");
  capsid__error_set(&err, CAPSID_EPOLICY, CAPSID_STAGE_POLICY, 0, NULL,
                    "policy.mode", "policy.mode is missing");
  assert_string_equal(capsid_error_format(&err, buf, sizeof(buf)),
                      "policy.mode is missing");
  /* The message ends with the error's words: the OS text adds nothing. */
  capsid__error_set(&err, CAPSID_ENOENT, CAPSID_STAGE_POLICY, ENOENT, "/x",
                    "cwd", "cwd \"/x\" cannot be used: %s",
                    capsid_strerror(CAPSID_ENOENT));
  assert_string_equal(capsid_error_format(&err, buf, sizeof(buf)),
                      "policy: cwd \"/x\" cannot be used: no such file or "
                      "directory");
  capsid__error_set(&err, CAPSID_ENOTFOUND, CAPSID_STAGE_EXEC, ENOENT,
                    "prog", "argv[0]", "prog: program not found in PATH");
  assert_string_equal(capsid_error_format(&err, buf, sizeof(buf)),
                      "exec: prog: program not found in PATH");
  /* An OS error the message does not give is still added. */
  capsid__error_set(&err, CAPSID_EIO, CAPSID_STAGE_PIPE, EPIPE, NULL, NULL,
                    "cannot feed stdin");
  capsid_error_format(&err, buf, sizeof(buf));
  assert_non_null(strstr(buf, "pipe: cannot feed stdin: "));
  assert_true(strlen(buf) > strlen("pipe: cannot feed stdin: "));
  /* No message: the code's words once, with the field and path. */
  capsid__error_set(&err, CAPSID_ENOENT, CAPSID_STAGE_CHDIR, ENOENT, "/nowhere",
                    "cwd", NULL);
  assert_string_equal(capsid_error_format(&err, buf, sizeof(buf)),
                      "chdir: no such file or directory (field cwd): "
                      "/nowhere");
  /* No stage: no "none:" prefix. */
  capsid__error_set(&err, CAPSID_EPERM, CAPSID_STAGE_NONE, 0, NULL, NULL,
                    "run this as root");
  assert_string_equal(capsid_error_format(&err, buf, sizeof(buf)),
                      "run this as root");
  capsid__error_free(&err);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_duration_parses),
      cmocka_unit_test(test_duration_rejects),
      cmocka_unit_test(test_size_parses),
      cmocka_unit_test(test_error_tables),
      cmocka_unit_test(test_os_error_translation),
      cmocka_unit_test(test_error_format),
      cmocka_unit_test(test_error_format_says_each_thing_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
