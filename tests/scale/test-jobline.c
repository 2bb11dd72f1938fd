/* The batch job line: every field, every error, with field names. */
#include "test-common.h"

#include "jobline.h"

#include <string.h>

static void parse_ok(const char* text, scale_jobline_t* jl) {
  capsid_error_t err;

  memset(&err, 0, sizeof(err));
  if (scale_jobline_parse(text, strlen(text), 7, jl, &err) != 0)
    fail_msg("unexpected error for %s: %s", text, err.message);
}


static void parse_fails(const char* text, int code, const char* field,
                        const char* needle) {
  scale_jobline_t jl;
  capsid_error_t err;

  memset(&err, 0, sizeof(err));
  assert_int_equal(scale_jobline_parse(text, strlen(text), 3, &jl, &err), code);
  assert_int_equal(err.code, code);
  if (field != NULL) {
    assert_non_null(err.field);
    assert_string_equal(err.field, field);
  }
  if (needle != NULL && strstr(err.message, needle) == NULL)
    fail_msg("message \"%s\" lacks \"%s\"", err.message, needle);
  capsid__error_free(&err);
  scale_jobline_free(&jl);
}


static void test_jobline_minimal(void** state) {
  scale_jobline_t jl;

  (void)state;
  parse_ok("{\"argv\":[\"true\"]}", &jl);
  assert_null(jl.id);
  assert_int_equal(jl.line, 7);
  assert_string_equal(jl.spec.argv[0], "true");
  assert_null(jl.spec.argv[1]);
  assert_null(jl.spec.cwd);
  assert_null(jl.spec.policy);
  /* No "policy": the default, parsed with the line. */
  assert_int_equal(jl.policy.kind, CAPSID__POLICY_WORKSPACE_WRITE);
  assert_int_equal(jl.policy_error.code, 0);
  assert_int_equal(jl.spec.network, -1);
  assert_int_equal(jl.spec.timeout_ms, 0);
  scale_jobline_free(&jl);
}


static void test_jobline_every_field(void** state) {
  scale_jobline_t jl;

  (void)state;
  parse_ok("{\"id\":\"a1\",\"argv\":[\"sh\",\"-c\",\"make\"],\"cwd\":\"/src\","
           "\"policy\":\"read-only\",\"writable_roots\":[\"/w\"],"
           "\"read_only_paths\":[\"/w/cfg\"],\"network\":true,"
           "\"env\":{\"CC\":\"clang\",\"E\":\"\"},\"env_mode\":\"replace\","
           "\"stdin\":\"in\\u0001put\",\"timeout_ms\":1500,"
           "\"memory_limit\":\"256M\",\"max_processes\":64,"
           "\"output_limit\":4096,\"mode\":\"unprivileged\"}",
           &jl);
  assert_string_equal(json_string_value(jl.id), "a1");
  assert_string_equal(jl.spec.argv[2], "make");
  assert_string_equal(jl.spec.cwd, "/src");
  assert_null(jl.spec.policy);
  assert_int_equal(jl.policy.kind, CAPSID__POLICY_READ_ONLY);
  assert_string_equal(jl.spec.writable_roots[0], "/w");
  assert_string_equal(jl.spec.read_only_paths[0], "/w/cfg");
  assert_int_equal(jl.spec.network, 1);
  assert_string_equal(jl.spec.env[0], "CC=clang");
  assert_string_equal(jl.spec.env[1], "E=");
  assert_int_equal(jl.spec.env_mode, CAPSID_ENV_REPLACE);
  assert_int_equal(jl.spec.stdin_len, 6);
  assert_memory_equal(jl.spec.stdin_data, "in\x01put", 6);
  assert_int_equal(jl.spec.timeout_ms, 1500);
  assert_int_equal(jl.spec.memory_limit, 256u << 20);
  assert_int_equal(jl.spec.max_processes, 64);
  assert_int_equal(jl.spec.output_limit, 4096);
  assert_int_equal(jl.spec.mode, CAPSID_MODE_UNPRIVILEGED);
  scale_jobline_free(&jl);

  /* An object policy is parsed with the line, not passed on as text;
   * ids may be numbers. */
  parse_ok("{\"id\":42,\"argv\":[\"x\"],\"policy\":{\"mode\":\"read-only\"},"
           "\"timeout\":\"2s\"}",
           &jl);
  assert_int_equal(json_integer_value(jl.id), 42);
  assert_null(jl.spec.policy);
  assert_int_equal(jl.policy.kind, CAPSID__POLICY_READ_ONLY);
  assert_int_equal(jl.policy_error.code, 0);
  assert_int_equal(jl.spec.timeout_ms, 2000);
  scale_jobline_free(&jl);
}


static void test_jobline_errors(void** state) {
  (void)state;
  parse_fails("{\"argv\":[\"x\"]", CAPSID_EJSON, NULL, "not valid JSON");
  parse_fails("", CAPSID_EJSON, NULL, "not valid JSON");
  parse_fails("[\"x\"]", CAPSID_ESPEC, NULL, "must be a JSON object");
  parse_fails("{}", CAPSID_ESPEC, "argv", "is required");
  parse_fails("{\"argv\":[]}", CAPSID_ESPEC, "argv", "non-empty");
  parse_fails("{\"argv\":\"ls\"}", CAPSID_ESPEC, "argv", "non-empty");
  parse_fails("{\"argv\":[\"\"]}", CAPSID_ESPEC, "argv[0]", "program");
  parse_fails("{\"argv\":[\"a\",1]}", CAPSID_ESPEC, "argv[1]", "a string");
  parse_fails("{\"argv\":[\"a\\u0000b\"]}", CAPSID_EJSON, NULL, NULL);
  parse_fails("{\"argv\":[\"x\"],\"timout_ms\":5}", CAPSID_ESPEC,
              "timout_ms", "did you mean \"timeout_ms\"");
  parse_fails("{\"argv\":[\"x\"],\"frobnicate\":5}", CAPSID_ESPEC,
              "frobnicate", "unknown field");
  parse_fails("{\"argv\":[\"x\"],\"cwd\":5}", CAPSID_ESPEC, "cwd",
              "a string");
  parse_fails("{\"argv\":[\"x\"],\"policy\":5}", CAPSID_ESPEC, "policy",
              "preset name or an object");
  parse_fails("{\"argv\":[\"x\"],\"network\":\"no\"}", CAPSID_ESPEC,
              "network", "true or false");
  parse_fails("{\"argv\":[\"x\"],\"env\":[]}", CAPSID_ESPEC, "env",
              "object of strings");
  parse_fails("{\"argv\":[\"x\"],\"env\":{\"A\":1}}", CAPSID_ESPEC, "env.A",
              "a string");
  parse_fails("{\"argv\":[\"x\"],\"env\":{\"A=B\":\"1\"}}", CAPSID_ESPEC,
              "env.A=B", "contain no '='");
  parse_fails("{\"argv\":[\"x\"],\"env_mode\":\"merge\"}", CAPSID_ESPEC,
              "env_mode", "\"merge\"");
  parse_fails("{\"argv\":[\"x\"],\"stdin\":1}", CAPSID_ESPEC, "stdin",
              "a string");
  parse_fails("{\"argv\":[\"x\"],\"timeout_ms\":-1}", CAPSID_ESPEC,
              "timeout_ms", "integer");
  parse_fails("{\"argv\":[\"x\"],\"timeout_ms\":1.5}", CAPSID_ESPEC,
              "timeout_ms", "integer");
  parse_fails("{\"argv\":[\"x\"],\"timeout\":\"soon\"}", CAPSID_ESPEC,
              "timeout", "duration");
  parse_fails("{\"argv\":[\"x\"],\"memory_limit\":\"lots\"}", CAPSID_ESPEC,
              "memory_limit", "size");
  parse_fails("{\"argv\":[\"x\"],\"output_limit\":-5}", CAPSID_ESPEC,
              "output_limit", "size");
  parse_fails("{\"argv\":[\"x\"],\"max_processes\":\"many\"}", CAPSID_ESPEC,
              "max_processes", "integer");
  parse_fails("{\"argv\":[\"x\"],\"mode\":\"root\"}", CAPSID_ESPEC, "mode",
              "\"root\"");
  parse_fails("{\"argv\":[\"x\"],\"id\":[1]}", CAPSID_ESPEC, "id",
              "string or an integer");
  parse_fails("{\"argv\":[\"x\"],\"writable_roots\":[1]}", CAPSID_ESPEC,
              "writable_roots[0]", "a string");
  parse_fails("{\"argv\":[\"x\"],\"argv\":[\"y\"]}", CAPSID_EJSON, NULL,
              "duplicate");
  parse_fails("{\"argv\":[\"\xff\"]}", CAPSID_EJSON, NULL, NULL);
}


static void test_jobline_keeps_id_on_error(void** state) {
  scale_jobline_t jl;
  capsid_error_t err;
  const char* text = "{\"id\":\"keep\",\"argv\":[]}";

  (void)state;
  memset(&err, 0, sizeof(err));
  assert_int_equal(scale_jobline_parse(text, strlen(text), 9, &jl, &err),
                   CAPSID_ESPEC);
  /* The error result can still name the job. */
  assert_string_equal(json_string_value(jl.id), "keep");
  assert_int_equal(jl.line, 9);
  scale_jobline_free(&jl);
  capsid__error_free(&err);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_jobline_minimal),
      cmocka_unit_test(test_jobline_every_field),
      cmocka_unit_test(test_jobline_errors),
      cmocka_unit_test(test_jobline_keeps_id_on_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
