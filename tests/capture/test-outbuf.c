/* The head+tail capture buffer, checked against a plain reference. */
#include "test-common.h"

#include "outbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Feeds `total` bytes of a known pattern in chunks of `chunk` and checks
 * the kept bytes, the marker and the counts against what they must be. */
static void check_pattern(uint64_t cap, size_t total, size_t chunk) {
  capsid__outbuf_t ob;
  capsid_output_t out;
  char* stream = malloc(total + 1);
  size_t i, head, tail, dropped;
  char marker[96];

  for (i = 0; i < total; i++)
    stream[i] = (char)('a' + (i * 7 + i / 13) % 26);
  capsid__outbuf_init(&ob, cap);
  for (i = 0; i < total; i += chunk)
    capsid__outbuf_write(&ob, stream + i, total - i < chunk ? total - i : chunk);
  assert_int_equal(capsid__outbuf_finish(&ob, &out), 0);

  assert_int_equal(out.total, total);
  if (total <= cap) {
    assert_int_equal(out.dropped, 0);
    assert_false(out.truncated);
    assert_int_equal(out.len, total);
    assert_memory_equal(out.data, stream, total);
  } else {
    head = (size_t)(cap / 2);
    tail = (size_t)(cap - head);
    dropped = total - head - tail;
    assert_int_equal(out.dropped, dropped);
    assert_true(out.truncated);
    snprintf(marker, sizeof(marker), "\n[capsid: %zu bytes dropped]\n",
             dropped);
    assert_int_equal(out.len, head + strlen(marker) + tail);
    assert_memory_equal(out.data, stream, head);
    assert_memory_equal(out.data + head, marker, strlen(marker));
    assert_memory_equal(out.data + head + strlen(marker),
                        stream + total - tail, tail);
  }
  assert_int_equal(out.data[out.len], '\0');
  capsid__free(out.data);
  free(stream);
}


static void test_outbuf_under_cap(void** state) {
  (void)state;
  check_pattern(1024, 0, 1);
  check_pattern(1024, 10, 3);
  check_pattern(1024, 1024, 100);
}


static void test_outbuf_head_and_tail(void** state) {
  (void)state;
  check_pattern(1024, 1025, 1);
  check_pattern(1024, 5000, 1);     /* byte by byte: ring wraps many times */
  check_pattern(1024, 5000, 333);   /* chunks that straddle the halves */
  check_pattern(1024, 100000, 4096);/* chunks larger than the tail */
  check_pattern(1001, 7777, 17);    /* odd cap: tail gets the extra byte */
  check_pattern(2, 3, 1);
  check_pattern(1 << 20, 5 << 20, 65536);
}


static void test_outbuf_cap_zero_keeps_counts(void** state) {
  capsid__outbuf_t ob;
  capsid_output_t out;

  (void)state;
  capsid__outbuf_init(&ob, 0);
  capsid__outbuf_write(&ob, "hello", 5);
  assert_int_equal(capsid__outbuf_finish(&ob, &out), 0);
  assert_int_equal(out.total, 5);
  assert_int_equal(out.dropped, 5);
  assert_true(out.truncated);
  assert_non_null(strstr(out.data, "5 bytes dropped"));
  capsid__free(out.data);
}


static void test_outbuf_memory_follows_data(void** state) {
  capsid__outbuf_t ob;

  (void)state;
  /* A large cap costs nothing until bytes arrive. */
  capsid__outbuf_init(&ob, (uint64_t)1 << 30);
  assert_null(ob.head);
  capsid__outbuf_write(&ob, "x", 1);
  assert_true(ob.head_alloc <= 4096);
  capsid__outbuf_free(&ob);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_outbuf_under_cap),
      cmocka_unit_test(test_outbuf_head_and_tail),
      cmocka_unit_test(test_outbuf_cap_zero_keeps_counts),
      cmocka_unit_test(test_outbuf_memory_follows_data),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
