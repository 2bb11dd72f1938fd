/* Bad input, table-driven: every malformed line of a batch gets a clear
 * error naming its line (and the field where there is one), and the good
 * lines around it still run. The same for bad command lines of run. */
#include "test-common.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CAPSID CAPSID_TEST_BIN

typedef struct {
  const char* line;  /* %D is replaced by the fixture directory */
  const char* code;  /* expected error code name */
  const char* field; /* expected field, or NULL when none applies */
} bad_t;

static const bad_t bad_lines[] = {
    {"{", "CAPSID_EJSON", NULL},
    {"not json", "CAPSID_EJSON", NULL},
    {"[]", "CAPSID_ESPEC", NULL},
    {"\"argv\"", "CAPSID_EJSON", NULL},
    {"42", "CAPSID_EJSON", NULL},
    {"null", "CAPSID_EJSON", NULL},
    {"{}", "CAPSID_ESPEC", "argv"},
    {"{\"argv\":null}", "CAPSID_ESPEC", "argv"},
    {"{\"argv\":[]}", "CAPSID_ESPEC", "argv"},
    {"{\"argv\":\"true\"}", "CAPSID_ESPEC", "argv"},
    {"{\"argv\":[\"\"]}", "CAPSID_ESPEC", "argv[0]"},
    {"{\"argv\":[true]}", "CAPSID_ESPEC", "argv[0]"},
    {"{\"argv\":[\"true\",{}]}", "CAPSID_ESPEC", "argv[1]"},
    {"{\"argv\":[\"tr\\u0000ue\"]}", "CAPSID_EJSON", NULL},
    {"{\"argv\":[\"\xff\xfe\"]}", "CAPSID_EJSON", NULL},
    {"{\"argv\":[\"true\"],\"argv\":[\"false\"]}", "CAPSID_EJSON", NULL},
    {"{\"argv\":[\"true\"],\"agrv\":1}", "CAPSID_ESPEC", "agrv"},
    {"{\"argv\":[\"true\"],\"polcy\":\"read-only\"}", "CAPSID_ESPEC",
     "polcy"},
    {"{\"argv\":[\"true\"],\"cwd\":7}", "CAPSID_ESPEC", "cwd"},
    {"{\"argv\":[\"true\"],\"cwd\":\"/nonexistent/capsid\"}", "CAPSID_ENOENT",
     "cwd"},
    {"{\"argv\":[\"true\"],\"cwd\":\"%D/afile\"}", "CAPSID_ENOTDIR", "cwd"},
    {"{\"argv\":[\"true\"],\"cwd\":\"\"}", "CAPSID_EINVAL", "cwd"},
    {"{\"argv\":[\"true\"],\"policy\":7}", "CAPSID_ESPEC", "policy"},
    {"{\"argv\":[\"true\"],\"policy\":\"root\"}", "CAPSID_EPOLICY", "policy"},
    {"{\"argv\":[\"true\"],\"policy\":\"danger-full-access\"}",
     "CAPSID_EPOLICY", "policy"},
    {"{\"argv\":[\"true\"],\"policy\":{}}", "CAPSID_EPOLICY", "policy.mode"},
    {"{\"argv\":[\"true\"],\"policy\":{\"mode\":1}}", "CAPSID_EPOLICY",
     "policy.mode"},
    {"{\"argv\":[\"true\"],\"policy\":{\"mode\":\"workspace-write\","
     "\"netwrk_access\":true}}",
     "CAPSID_EPOLICY", "policy.netwrk_access"},
    {"{\"argv\":[\"true\"],\"policy\":{\"mode\":\"workspace-write\","
     "\"writable_roots\":[\"/\"]}}",
     "CAPSID_EPOLICY", "policy.writable_roots[0]"},
    {"{\"argv\":[\"true\"],\"policy\":{\"mode\":\"workspace-write\","
     "\"writable_roots\":[\"../../../../../../../../../..\"]}}",
     "CAPSID_EPOLICY", "policy.writable_roots[0]"},
    {"{\"argv\":[\"true\"],\"policy\":{\"mode\":\"workspace-write\","
     "\"writable_roots\":\"/tmp\"}}",
     "CAPSID_EPOLICY", "policy.writable_roots"},
    {"{\"argv\":[\"true\"],\"policy\":{\"mode\":\"read-only\","
     "\"writable_roots\":[\"/tmp\"]}}",
     "CAPSID_EPOLICY", "policy.writable_roots"},
    {"{\"argv\":[\"true\"],\"policy\":{\"mode\":\"workspace-write\","
     "\"exclude_slash_tmp\":\"yes\"}}",
     "CAPSID_EPOLICY", "policy.exclude_slash_tmp"},
    {"{\"argv\":[\"true\"],\"writable_roots\":[\"/\"]}", "CAPSID_EPOLICY",
     "writable_roots[0]"},
    {"{\"argv\":[\"true\"],\"writable_roots\":[\"%D/missing\"]}",
     "CAPSID_ENOENT", "writable_roots[0]"},
    {"{\"argv\":[\"true\"],\"writable_roots\":[\"%D/afile\"]}",
     "CAPSID_ENOTDIR", "writable_roots[0]"},
    {"{\"argv\":[\"true\"],\"writable_roots\":\"x\"}", "CAPSID_ESPEC",
     "writable_roots"},
    {"{\"argv\":[\"true\"],\"read_only_paths\":[\"new/../../../x\"]}",
     "CAPSID_EINVAL", "read_only_paths[0]"},
    {"{\"argv\":[\"true\"],\"read_only_paths\":[3]}", "CAPSID_ESPEC",
     "read_only_paths[0]"},
    {"{\"argv\":[\"true\"],\"network\":1}", "CAPSID_ESPEC", "network"},
    {"{\"argv\":[\"true\"],\"env\":\"A=B\"}", "CAPSID_ESPEC", "env"},
    {"{\"argv\":[\"true\"],\"env\":{\"A\":null}}", "CAPSID_ESPEC", "env.A"},
    {"{\"argv\":[\"true\"],\"env\":{\"\":\"x\"}}", "CAPSID_ESPEC", "env."},
    {"{\"argv\":[\"true\"],\"env_mode\":\"all\"}", "CAPSID_ESPEC",
     "env_mode"},
    {"{\"argv\":[\"true\"],\"stdin\":[1]}", "CAPSID_ESPEC", "stdin"},
    {"{\"argv\":[\"true\"],\"timeout_ms\":\"5\"}", "CAPSID_ESPEC",
     "timeout_ms"},
    {"{\"argv\":[\"true\"],\"timeout_ms\":-5}", "CAPSID_ESPEC", "timeout_ms"},
    {"{\"argv\":[\"true\"],\"timeout_ms\":1e99}", "CAPSID_ESPEC",
     "timeout_ms"},
    {"{\"argv\":[\"true\"],\"timeout\":\"forever\"}", "CAPSID_ESPEC",
     "timeout"},
    {"{\"argv\":[\"true\"],\"memory_limit\":\"-1G\"}", "CAPSID_ESPEC",
     "memory_limit"},
    {"{\"argv\":[\"true\"],\"memory_limit\":true}", "CAPSID_ESPEC",
     "memory_limit"},
    {"{\"argv\":[\"true\"],\"output_limit\":\"1Z\"}", "CAPSID_ESPEC",
     "output_limit"},
    {"{\"argv\":[\"true\"],\"max_processes\":99999999999}", "CAPSID_ESPEC",
     "max_processes"},
    {"{\"argv\":[\"true\"],\"mode\":\"root\"}", "CAPSID_ESPEC", "mode"},
    {"{\"argv\":[\"true\"],\"id\":{}}", "CAPSID_ESPEC", "id"},
    /* Never writable: system trees, a link into one, a link anyone but
     * root may have made (%D is a temp dir), a TMPDIR in /etc. */
    {"{\"argv\":[\"true\"],\"cwd\":\"/etc\"}", "CAPSID_EPOLICY", "cwd"},
    {"{\"argv\":[\"true\"],\"cwd\":\"/root\"}", "CAPSID_EPOLICY", "cwd"},
    {"{\"argv\":[\"true\"],\"cwd\":\"%D/etclink\"}", "CAPSID_EPOLICY",
     "cwd"},
    {"{\"argv\":[\"true\"],\"cwd\":\"%D/planted\"}", "CAPSID_EPOLICY",
     "cwd"},
    {"{\"argv\":[\"true\"],\"writable_roots\":[\"/usr/local\"]}",
     "CAPSID_EPOLICY", "writable_roots[0]"},
    {"{\"argv\":[\"true\"],\"cwd\":\"%D/sub\",\"writable_roots\":"
     "[\"../planted\"]}",
     "CAPSID_EPOLICY", "writable_roots[0]"},
    {"{\"argv\":[\"true\"],\"policy\":{\"mode\":\"workspace-write\","
     "\"writable_roots\":[\"/var/lib\"]}}",
     "CAPSID_EPOLICY", "policy.writable_roots[0]"},
    {"{\"argv\":[\"true\"],\"env\":{\"TMPDIR\":\"/etc\"}}",
     "CAPSID_EPOLICY", "TMPDIR"},
    {"{\"argv\":[\"capsid-no-such-program\"]}", "CAPSID_ENOTFOUND",
     "argv[0]"},
    {"{\"argv\":[\"%D/afile\"]}", "CAPSID_ENOEXEC", "argv[0]"},
};


static char* substitute(const char* line, const char* dir) {
  const char* at = strstr(line, "%D");
  char* out;

  if (at == NULL)
    return strdup(line);
  out = malloc(strlen(line) + strlen(dir) + 1);
  sprintf(out, "%.*s%s%s", (int)(at - line), line, dir, at + 2);
  return out;
}


/* One clean sentence: no word said twice in a row ("policy: policy:"), no
 * phrase of three words said twice ("no such file or directory: No such
 * file or directory"), and the field given as a label at most once. */
static int word_char(char c) {
  return c != '\0' && !isspace((unsigned char)c) &&
         strchr(":,;()\"'", c) == NULL;
}


static void assert_reads_cleanly(const char* msg, const char* field) {
  char words[64][48];
  size_t n = 0, i, j, k, len;
  const char* p = msg;
  const char* at;
  int count = 0;

  /* Words are split at spaces and punctuation, not inside paths and
   * names ("capsid-no-such-program", "policy.mode"). */
  while (*p != '\0' && n < 64) {
    while (*p != '\0' && !word_char(*p))
      p++;
    for (len = 0; word_char(p[len]); len++)
      if (len + 1 < sizeof(words[0]))
        words[n][len] = (char)tolower((unsigned char)p[len]);
    if (len == 0)
      break;
    words[n][len < sizeof(words[0]) ? len : sizeof(words[0]) - 1] = '\0';
    n++;
    p += len;
  }
  for (i = 0; i + 1 < n; i++)
    if (strcmp(words[i], words[i + 1]) == 0)
      fail_msg("\"%s\" says \"%s\" twice in a row", msg, words[i]);
  for (i = 0; i + 3 <= n; i++)
    for (j = i + 1; j + 3 <= n; j++) {
      for (k = 0; k < 3 && strcmp(words[i + k], words[j + k]) == 0; k++)
        ;
      if (k == 3)
        fail_msg("\"%s\" says \"%s %s %s\" twice", msg, words[i],
                 words[i + 1], words[i + 2]);
    }
  /* The field as a label ("cwd:") or quoted ("\"cwd\""). */
  if (field != NULL)
    for (at = strstr(msg, field); at != NULL; at = strstr(at + 1, field)) {
      len = strlen(field);
      if (at[len] == ':' || (at > msg && at[-1] == '"' && at[len] == '"'))
        count++;
    }
  if (count > 1)
    fail_msg("\"%s\" names the field %s %d times", msg, field, count);
}


static void test_batch_bad_lines(void** state) {
  size_t n = CAPSID__ARRAY_SIZE(bad_lines), i;
  char* dir = test_mkdtemp();
  char in[512], out[512], afile[512];
  json_t** by_line;
  json_t* r;
  json_t* e;
  json_error_t jerr;
  char* text;
  char* line;
  char* nl;
  long total = (long)(2 * n + 1), ln, good = 0;
  FILE* f;

  (void)state;
  assert_true(n >= 50);
  snprintf(in, sizeof(in), "%s/in.jsonl", dir);
  snprintf(out, sizeof(out), "%s/out.jsonl", dir);
  snprintf(afile, sizeof(afile), "%s/afile", dir);
  test_write_file(afile, "x", 1);
  assert_int_equal(test_system("cd '%s' && mkdir sub && ln -s /etc etclink "
                               "&& ln -s '%s/sub' planted", dir, dir),
                   0);
  /* Good and bad lines alternate: odd lines are good. */
  f = fopen(in, "w");
  for (i = 0; i < n; i++) {
    char* bad = substitute(bad_lines[i].line, dir);
    fprintf(f, "{\"id\":\"good-%zu\",\"argv\":[\"true\"]}\n%s\n", i, bad);
    free(bad);
  }
  fprintf(f, "{\"id\":\"good-last\",\"argv\":[\"true\"]}\n");
  fclose(f);
  assert_int_equal(test_system("%s batch -j 4 '%s' >'%s' 2>/dev/null",
                               CAPSID, in, out),
                   1);

  by_line = calloc((size_t)total + 1, sizeof(*by_line));
  text = test_read_file(out, NULL);
  assert_non_null(text);
  for (line = text; *line != '\0'; line = nl + 1) {
    nl = strchr(line, '\n');
    assert_non_null(nl);
    *nl = '\0';
    r = json_loads(line, 0, &jerr);
    if (r == NULL)
      fail_msg("result is not JSON: %s", jerr.text);
    ln = (long)json_integer_value(json_object_get(r, "line"));
    assert_true(ln >= 1 && ln <= total);
    assert_null(by_line[ln]); /* exactly one result per line */
    by_line[ln] = r;
  }
  for (ln = 1; ln <= total; ln++) {
    r = by_line[ln];
    if (r == NULL)
      fail_msg("no result for line %ld", ln);
    e = json_object_get(r, "error");
    if (ln % 2 == 1) {
      assert_true(json_is_null(e));
      assert_int_equal(json_integer_value(json_object_get(r, "exit_code")),
                       0);
      good++;
      continue;
    }
    i = (size_t)(ln / 2 - 1);
    if (!json_is_object(e))
      fail_msg("line %ld (%s) was accepted", ln, bad_lines[i].line);
    if (strcmp(json_string_value(json_object_get(e, "code")),
               bad_lines[i].code) != 0)
      fail_msg("line %ld (%s): code %s, expected %s", ln, bad_lines[i].line,
               json_string_value(json_object_get(e, "code")),
               bad_lines[i].code);
    assert_int_equal(json_integer_value(json_object_get(e, "line")), ln);
    assert_true(strlen(json_string_value(json_object_get(e, "message"))) >
                10);
    assert_reads_cleanly(json_string_value(json_object_get(e, "message")),
                         bad_lines[i].field);
    if (bad_lines[i].field != NULL) {
      json_t* fld = json_object_get(e, "field");
      if (fld == NULL || strcmp(json_string_value(fld),
                                bad_lines[i].field) != 0)
        fail_msg("line %ld (%s): field %s, expected %s", ln,
                 bad_lines[i].line, fld ? json_string_value(fld) : "(none)",
                 bad_lines[i].field);
    }
  }
  assert_int_equal(good, (long)n + 1);
  for (ln = 1; ln <= total; ln++)
    json_decref(by_line[ln]);
  free(by_line);
  free(text);
  test_rmtree(dir);
  free(dir);
}


typedef struct {
  const char* args;
  int status;
  const char* needle; /* in stderr */
} bad_cli_t;

static const bad_cli_t bad_cli[] = {
    {"run", 125, "no program"},
    {"run --", 125, "no program"},
    {"run -p", 125, "needs a value"},
    {"run --policy= -- true", 125, "policy is empty"},
    {"run -p '{\"mode\":\"workspace-write\"' -- true", 125, "not valid JSON"},
    {"run -p read-only -w /tmp -- true", 125, "read-only"},
    {"run -w / -- true", 125, "whole filesystem"},
    {"run -C /nonexistent/capsid -- true", 125, "cwd"},
    {"run -C /dev/null -- true", 125, "not a directory"},
    {"run -t -1s -- true", 125, "--timeout"},
    {"run -m lots -- true", 125, "--memory-limit"},
    {"run --output-limit 0 -- true", 125, "--output-limit"},
    {"run --max-processes x -- true", 125, "--max-processes"},
    {"run -e NOEQUALS -- true", 125, "NAME=VALUE"},
    {"run --mode root -- true", 125, "--mode"},
    {"run --json=yes -- true", 125, "takes no value"},
    {"run -x -- true", 125, "unknown option '-x'"},
    {"run --stdin-file /nonexistent/in -- true", 125, "--stdin-file"},
    {"run -C /etc -- true", 125, "system directory /etc"},
    {"run -C /root -- true", 125, "system directory /root"},
    {"run -w /usr/local -- true", 125, "writable_roots[0]"},
    {"run -C / -w /var -- true", 125, "whole filesystem"},
    {"batch -j x", 2, "-j"},
    /* Counts are whole numbers, not sizes: 1.5 or 2k jobs are typos. */
    {"batch -j 1.5", 2, "-j"},
    {"batch -j 2k", 2, "-j"},
    {"batch --retries 2.0", 2, "--retries"},
    {"run --max-processes 1k -- true", 125, "--max-processes"},
    {"batch a b", 2, "one input at most"},
    /* Issue 18: the habits of parallel name their option. */
    {"batch --halt sometimes", 2, "--halt"},
    {"batch --retries 0", 2, "--retries"},
    {"batch --resume /nonexistent/results.jsonl", 2, "--resume"},
    {"batch --resume-failed /nonexistent/joblog", 2, "--resume-failed"},
    {"batch --joblog /nonexistent/dir/joblog", 2, "--joblog"},
    {"batch -t soon", 2, "--timeout"},
    {"batch -m lots", 2, "--memory-limit"},
    {"batch --mode root", 2, "--mode"},
    {"batch -e NOEQUALS", 2, "--env"},
    /* Refused before anything is set up (no root needed to see them). */
    {"setup --read-root /nonexistent/capsid", 2, "--read-root"},
    {"setup --read-root /dev/null", 2, "not an existing directory"},
    {"setup --read-root", 2, "needs a value"},
    {"setup extra", 2, "unexpected argument"},
    {"uninstall --read-root /tmp", 2, "unknown option '--read-root'"},
};


static void test_cli_bad_arguments(void** state) {
  size_t i;
  char* dir = test_mkdtemp();
  char err[512];
  char* text;
  int status;

  (void)state;
  snprintf(err, sizeof(err), "%s/err", dir);
  for (i = 0; i < CAPSID__ARRAY_SIZE(bad_cli); i++) {
    status = test_system("%s %s >/dev/null 2>'%s' </dev/null", CAPSID,
                         bad_cli[i].args, err);
    text = test_read_file(err, NULL);
    if (status != bad_cli[i].status || text == NULL ||
        strstr(text, bad_cli[i].needle) == NULL)
      fail_msg("capsid %s: status %d (want %d), stderr: %s", bad_cli[i].args,
               status, bad_cli[i].status, text ? text : "(none)");
    /* One line that says what and where, not a dump. */
    assert_true(strchr(text, '\n') == text + strlen(text) - 1);
    assert_reads_cleanly(text, NULL);
    free(text);
  }
  test_rmtree(dir);
  free(dir);
}


/* Capsid as root (through run and a batch line): a link the job planted
 * in its workspace and another user's directory are refused before the
 * job runs; the invoking user's own (SUDO_UID) and an administrator's
 * allowed root run. */
static void test_cli_roots_as_root(void** state) {
  char* dir = test_mkdtemp();
  char* text;
  char cmd[2048];

  (void)state;
  if (geteuid() != 0) {
    test_rmtree(dir);
    free(dir);
    if (test_may_skip("the owner rule is for capsid running as root"))
      skip();
    fail();
  }
  snprintf(cmd, sizeof(cmd), "cd '%s' && mkdir state ws theirs && "
           "chown 4242:4242 theirs", dir);
  assert_int_equal(test_system("%s", cmd), 0);
  /* The allow-list lives in the state directory: a private one. */
  snprintf(cmd, sizeof(cmd), "%s/state", dir);
  setenv("CAPSID_STATE_DIR", cmd, 1);

  assert_int_equal(test_system("cd '%s/ws' && %s run -- ln -s '%s/theirs' "
                               "sub", dir, CAPSID, dir),
                   0);
  assert_int_equal(test_system("%s run -C '%s/ws/sub' -- touch x "
                               "2>'%s/err'", CAPSID, dir, dir),
                   125);
  snprintf(cmd, sizeof(cmd), "%s/err", dir);
  text = test_read_file(cmd, NULL);
  assert_non_null(strstr(text, "cwd"));
  assert_non_null(strstr(text, "symbolic link"));
  free(text);
  snprintf(cmd, sizeof(cmd), "%s/theirs/x", dir);
  assert_int_equal(access(cmd, F_OK), -1);

  assert_int_equal(test_system("%s run -C '%s/theirs' -- true 2>'%s/err'",
                               CAPSID, dir, dir),
                   125);
  snprintf(cmd, sizeof(cmd), "%s/err", dir);
  text = test_read_file(cmd, NULL);
  assert_non_null(strstr(text, "not by the invoking user"));
  free(text);
  assert_int_equal(test_system("echo '{\"argv\":[\"true\"],\"cwd\":"
                               "\"%s/theirs\"}' | %s batch | grep -q "
                               "'\"code\":\"CAPSID_EPOLICY\".*"
                               "\"field\":\"cwd\"'", dir, CAPSID),
                   0);
  /* Controls: that user invoking capsid; the administrator's list. */
  assert_int_equal(test_system("SUDO_UID=4242 %s run -C '%s/theirs' -- "
                               "true", CAPSID, dir),
                   0);
  assert_int_equal(test_system("echo '%s/theirs' >'%s/state/allowed-roots'"
                               " && %s run -C '%s/theirs' -- true", dir, dir,
                               CAPSID, dir),
                   0);
  unsetenv("CAPSID_STATE_DIR");
  test_rmtree(dir);
  free(dir);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_batch_bad_lines),
      cmocka_unit_test(test_cli_bad_arguments),
      cmocka_unit_test(test_cli_roots_as_root),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
