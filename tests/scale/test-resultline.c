/* Result lines: valid UTF-8 JSON whatever the job printed. */
#include "test-common.h"

#include "resultline.h"

#include <stdlib.h>
#include <string.h>

static void test_utf8_validation(void** state) {
  (void)state;
  assert_true(scale_utf8_valid("plain", 5));
  assert_true(
      scale_utf8_valid("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15));
  assert_true(scale_utf8_valid("nul\0inside", 10));
  assert_false(scale_utf8_valid("\xff", 1));
  assert_false(scale_utf8_valid("\xc3", 1));          /* truncated */
  assert_false(scale_utf8_valid("\xc0\xaf", 2));      /* overlong '/' */
  assert_false(scale_utf8_valid("\xed\xa0\x80", 3));  /* surrogate */
  assert_false(scale_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
}


static void test_lossy_and_base64(void** state) {
  size_t n;
  char* s;

  (void)state;
  s = scale_utf8_lossy("a\xff" "b", 3, &n);
  assert_int_equal(n, 5);
  assert_memory_equal(s, "a\xef\xbf\xbd" "b", 5);
  capsid__free(s);
  s = scale_base64("", 0);
  assert_string_equal(s, "");
  capsid__free(s);
  s = scale_base64("f", 1);
  assert_string_equal(s, "Zg==");
  capsid__free(s);
  s = scale_base64("fo", 2);
  assert_string_equal(s, "Zm8=");
  capsid__free(s);
  s = scale_base64("foobar", 6);
  assert_string_equal(s, "Zm9vYmFy");
  capsid__free(s);
  s = scale_base64("ok\xff\xfe\x00z", 6);
  assert_string_equal(s, "b2v//gB6");
  capsid__free(s);
}


static void test_result_json_binary_output(void** state) {
  capsid_result_t r;
  json_t* obj;
  json_t* back;
  json_t* id;
  json_error_t jerr;
  char* text;

  (void)state;
  memset(&r, 0, sizeof(r));
  r.out.data = "ok\xff\xfe\x00z";
  r.out.len = 6;
  r.err.data = "line \"quoted\"\n\ttab \x01";
  r.err.len = strlen(r.err.data);
  r.exit_code = 2;
  r.peak_memory = -1;
  id = json_string("id-1");
  obj = scale_result_json(id, 4, &r);
  json_decref(id);
  text = json_dumps(obj, JSON_COMPACT);
  /* The line parses back, and the exact bytes survive through base64. */
  back = json_loads(text, JSON_ALLOW_NUL, &jerr);
  assert_non_null(back);
  assert_string_equal(json_string_value(json_object_get(back, "id")), "id-1");
  assert_int_equal(json_integer_value(json_object_get(back, "line")), 4);
  assert_int_equal(json_integer_value(json_object_get(back, "exit_code")), 2);
  assert_true(json_is_null(json_object_get(back, "signal")));
  assert_true(json_is_null(json_object_get(back, "peak_memory")));
  assert_string_equal(json_string_value(json_object_get(back, "stdout_b64")),
                      "b2v//gB6");
  assert_int_equal(json_string_length(json_object_get(back, "stdout")), 10);
  assert_string_equal(json_string_value(json_object_get(back, "stderr")),
                      "line \"quoted\"\n\ttab \x01");
  assert_null(json_object_get(back, "stderr_b64"));
  assert_true(json_is_null(json_object_get(back, "error")));
  assert_null(strchr(text, '\n'));
  free(text);
  json_decref(back);
  json_decref(obj);
}


static void test_result_json_error(void** state) {
  capsid_result_t r;
  json_t* obj;
  json_t* e;

  (void)state;
  memset(&r, 0, sizeof(r));
  r.exit_code = -1;
  capsid__error_set(&r.error, CAPSID_ESPEC, CAPSID_STAGE_SPEC, 0, NULL,
                    "argv", "\"argv\" is required");
  obj = scale_result_json(NULL, 12, &r);
  assert_true(json_is_null(json_object_get(obj, "exit_code")));
  e = json_object_get(obj, "error");
  assert_string_equal(json_string_value(json_object_get(e, "code")),
                      "CAPSID_ESPEC");
  assert_int_equal(json_integer_value(json_object_get(e, "line")), 12);
  assert_string_equal(json_string_value(json_object_get(e, "field")), "argv");
  assert_non_null(strstr(json_string_value(json_object_get(e, "message")),
                         "is required"));
  json_decref(obj);
  capsid__error_free(&r.error);
}


/* The fast writer must produce exactly what the jansson tree says. */
static void check_writer_matches(const char* out, size_t out_len,
                                 const char* err, size_t err_len) {
  capsid_result_t r;
  json_t* tree;
  json_t* back;
  json_error_t jerr;
  char* text;
  size_t len = 0;
  FILE* f = tmpfile();

  memset(&r, 0, sizeof(r));
  r.out.data = (char*)out;
  r.out.len = out_len;
  r.err.data = (char*)err;
  r.err.len = err_len;
  r.exit_code = 1;
  r.peak_memory = 123;
  tree = scale_result_json(NULL, 2, &r);
  assert_int_equal(scale_result_write(f, NULL, 2, &r), 0);
  rewind(f);
  text = malloc(out_len * 8 + err_len * 8 + 4096);
  len = fread(text, 1, out_len * 8 + err_len * 8 + 4095, f);
  fclose(f);
  text[len] = '\0';
  assert_true(len > 0 && text[len - 1] == '\n');
  assert_null(memchr(text, '\n', len - 1));
  back = json_loadb(text, len, JSON_ALLOW_NUL, &jerr);
  if (back == NULL)
    fail_msg("writer output is not JSON: %s", jerr.text);
  assert_true(json_equal(tree, back));
  json_decref(tree);
  json_decref(back);
  free(text);
}


static void test_result_writer_matches_tree(void** state) {
  static const char all[] =
      "\x00\x01\x1f \"\\/\x7f\n\r\t"
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
  char big[70000];
  size_t i;

  (void)state;
  check_writer_matches("", 0, "", 0);
  check_writer_matches(all, sizeof(all) - 1, "plain", 5);
  check_writer_matches("ok\xff\xfe\x00z", 6, "\xc3", 1);
  for (i = 0; i < sizeof(big); i++)
    big[i] = (char)(i % 97 == 0 ? '\n' : 'a' + i % 26);
  check_writer_matches(big, sizeof(big), big, 100);
}


/* Decodes base64 (the writer's alphabet, with padding). */
static unsigned char* unbase64(const char* s, size_t* out_len) {
  size_t len = strlen(s), i, o = 0;
  unsigned char* out = malloc(len / 4 * 3 + 3);
  unsigned v = 0;
  int bits = 0;

  for (i = 0; i < len && s[i] != '='; i++) {
    const char* at = strchr(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        s[i]);
    assert_non_null(at);
    v = v << 6 | (unsigned)(at - "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
                                 "opqrstuvwxyz0123456789+/");
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (unsigned char)(v >> bits);
      v &= (1u << bits) - 1;
    }
  }
  *out_len = o;
  return out;
}


/* A result line stays within a small constant factor of the captured
 * output whatever bytes the job wrote, the exact bytes always survive, and
 * text that was valid stays text. (A megabyte of 0xFF made a 4.3 MB line:
 * U+FFFD per byte plus a base64 copy; a megabyte of NULs one of 6 MB.) */
static void check_bounded(const char* what, const char* data, size_t len,
                          int want_text_whole) {
  capsid_result_t r;
  json_t* back;
  json_t* b64;
  json_error_t jerr;
  unsigned char* exact;
  char* text;
  size_t n, exact_len = 0;
  FILE* f = tmpfile();

  memset(&r, 0, sizeof(r));
  r.out.data = (char*)data;
  r.out.len = len;
  r.err.data = (char*)data;
  r.err.len = len / 2;
  r.peak_memory = -1;
  assert_int_equal(scale_result_write(f, NULL, 1, &r), 0);
  n = (size_t)ftell(f);
  rewind(f);
  text = malloc(n + 1);
  assert_int_equal(fread(text, 1, n, f), n);
  fclose(f);
  if (n > (len + len / 2) * CLI_RESULT_STREAM_FACTOR + 1024)
    fail_msg("%s: %zu bytes of output made a %zu-byte line", what,
             len + len / 2, n);
  back = json_loadb(text, n, JSON_ALLOW_NUL, &jerr);
  if (back == NULL)
    fail_msg("%s: not JSON: %s", what, jerr.text);
  b64 = json_object_get(back, "stdout_b64");
  if (b64 != NULL) {
    exact = unbase64(json_string_value(b64), &exact_len);
    assert_int_equal(exact_len, len);
    assert_memory_equal(exact, data, len);
    free(exact);
  } else {
    /* No base64: the text is the exact output. */
    assert_int_equal(json_string_length(json_object_get(back, "stdout")),
                     len);
    assert_memory_equal(json_string_value(json_object_get(back, "stdout")),
                        data, len);
  }
  if (want_text_whole) {
    size_t lossy_len = 0;
    char* lossy = scale_utf8_lossy(data, len, &lossy_len);
    if (json_string_length(json_object_get(back, "stdout")) != lossy_len)
      fail_msg("%s: the readable text was cut", what);
    capsid__free(lossy);
  }
  json_decref(back);
  free(text);
  /* The jansson tree says the same. */
  check_writer_matches(data, len, data, len / 2);
}


static void test_result_line_is_bounded(void** state) {
  static const char multi[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 ";
  size_t len = 1 << 20, i;
  char* buf = malloc(len);
  uint64_t x = 88172645463325252ull;

  (void)state;
  for (i = 0; i < len; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    buf[i] = (char)(x >> 24);
  }
  check_bounded("random bytes", buf, len, 0);
  memset(buf, 0xFF, len);
  check_bounded("all 0xFF", buf, len, 0);
  memset(buf, 0, len);
  check_bounded("NULs", buf, len, 0);
  for (i = 0; i + sizeof(multi) - 1 <= len; i += sizeof(multi) - 1)
    memcpy(buf + i, multi, sizeof(multi) - 1);
  check_bounded("valid multi-byte", buf, i, 1);
  /* A log with one stray Latin-1 byte keeps all of its text. */
  for (i = 0; i < len; i++)
    buf[i] = (char)(i % 80 == 79 ? '\n' : 'a' + i % 26);
  buf[len / 2] = (char)0xE9;
  check_bounded("text with one bad byte", buf, len, 1);
  free(buf);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_utf8_validation),
      cmocka_unit_test(test_lossy_and_base64),
      cmocka_unit_test(test_result_json_binary_output),
      cmocka_unit_test(test_result_json_error),
      cmocka_unit_test(test_result_writer_matches_tree),
      cmocka_unit_test(test_result_line_is_bounded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
