/* The result's sandbox object and denials list (sandbox/denials.c): the
 * refusal messages of common tools, classified by the policy's rules. */
#include "test-common.h"

#include "denials.h"

#include <jansson.h>
#include <string.h>

static void sandbox_of(capsid__sandbox_t* sb) {
  memset(sb, 0, sizeof(*sb));
  sb->kind = CAPSID__POLICY_WORKSPACE_WRITE;
  sb->cwd = capsid__strdup("/w/ws");
  capsid__strv_push(&sb->writable, "/w/ws");
  capsid__strv_push(&sb->writable, "/tmp");
  sb->first_tmp = 1;
  capsid__strv_push(&sb->protected_paths, "/w/ws/.git");
  capsid__strv_push(&sb->missing_protected, "/w/ws/.codex");
  capsid__strv_push(&sb->deny_read, "/home/u/.ssh");
}


static json_t* denials(const capsid__sandbox_t* sb, const char* text) {
  char* s = capsid__denials_json(sb, text, strlen(text));
  json_t* j;

  assert_non_null(s);
  j = json_loads(s, 0, NULL);
  capsid__free(s);
  assert_non_null(j);
  assert_true(json_is_array(j));
  return j;
}


static void expect(json_t* list, size_t i, const char* op, const char* path,
                   const char* rule) {
  json_t* d = json_array_get(list, i);

  assert_non_null(d);
  assert_string_equal(json_string_value(json_object_get(d, "op")), op);
  assert_string_equal(json_string_value(json_object_get(d, "path")), path);
  assert_string_equal(json_string_value(json_object_get(d, "rule")), rule);
}


static void test_sandbox_object(void** state) {
  capsid__sandbox_t sb;
  char* s;

  (void)state;
  sandbox_of(&sb);
  s = capsid__sandbox_json(&sb);
  assert_non_null(s);
  assert_string_equal(s, "{\"policy\":\"workspace-write\",\"writable_roots\":"
                         "[\"/w/ws\",\"/tmp\"],\"protected_paths\":"
                         "[\"/w/ws/.codex\",\"/w/ws/.git\"],\"deny_read\":"
                         "[\"/home/u/.ssh\"],"
                         "\"network\":false}");
  capsid__free(s);
  capsid__sandbox_free(&sb);
}


/* The messages of sh, coreutils (ASCII and UTF-8 quotes), bash and
 * Python, each classified; refusals no rule explains are left out. */
static void test_messages(void** state) {
  capsid__sandbox_t sb;
  json_t* l;

  (void)state;
  sandbox_of(&sb);
  l = denials(&sb,
              "sh: 1: cannot create /etc/x: Read-only file system\n"
              "touch: cannot touch '.git/hooks/pre-commit': Read-only file "
              "system\n"
              "mkdir: cannot create directory \xE2\x80\x98.codex\xE2\x80\x99"
              ": Read-only file system\n"
              "cat: /home/u/.ssh/id_ed25519: Permission denied\n"
              "PermissionError: [Errno 13] Permission denied: "
              "'/usr/lib/x'\n"
              "cat: ./own-0600: Permission denied\n"
              "bash: /etc/x: Read-only file system\n"
              "Permission denied\n"
              "ok line\n");
  assert_int_equal(json_array_size(l), 5);
  expect(l, 0, "write", "/etc/x", "outside writable roots");
  expect(l, 1, "write", "/w/ws/.git/hooks/pre-commit", "protected");
  expect(l, 2, "write", "/w/ws/.codex", "protected");
  expect(l, 3, "read", "/home/u/.ssh/id_ed25519", "deny_read");
  expect(l, 4, "open", "/usr/lib/x", "outside writable roots");
  json_decref(l);
  l = denials(&sb, "");
  assert_int_equal(json_array_size(l), 0);
  json_decref(l);
  capsid__sandbox_free(&sb);
}


/* Bounded, whatever the job prints. */
static void test_bounded(void** state) {
  capsid__sandbox_t sb;
  capsid__buf_t b = {0};
  json_t* l;
  int i;

  (void)state;
  sandbox_of(&sb);
  for (i = 0; i < 1000; i++) {
    char line[80];
    int n = snprintf(line, sizeof(line),
                     "x: /etc/f%d: Read-only file system\n", i);
    assert_int_equal(capsid__buf_append(&b, line, (size_t)n), 0);
  }
  assert_int_equal(capsid__buf_append(&b, "", 1), 0);
  l = denials(&sb, b.data);
  assert_int_equal(json_array_size(l), CAPSID__DENIALS_MAX);
  json_decref(l);
  capsid__buf_free(&b);
  capsid__sandbox_free(&sb);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sandbox_object),
      cmocka_unit_test(test_messages),
      cmocka_unit_test(test_bounded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
