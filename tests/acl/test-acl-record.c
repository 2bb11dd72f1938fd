/* The record loader must turn every damaged record into CAPSID_ECORRUPT
 * (which makes the next apply walk everything), never into a wrong
 * skip. */
#include "acl-test-util.h"

#include <string.h>

static void make_record(capsid__acl_record_t* rec, capsid__acl_plan_t* plan) {
  capsid__acl_stat_t st;

  simple_plan("/w/ws", plan);
  memset(rec, 0, sizeof(*rec));
  rec->key = plan->key;
  rec->complete = 1;
  rec->n_targets = 1;
  rec->targets = capsid__calloc(1, sizeof(*rec->targets));
  rec->targets[0].t = plan->targets[0];
  rec->targets[0].digest = capsid__acl_target_digest(&plan->targets[0]);
  rec->targets[0].complete = 1;
  memset(&st, 0, sizeof(st));
  st.dev = 2049;
  st.ino = 1234567;
  st.ctime_sec = 1700000000;
  st.ctime_nsec = 123456789;
  assert_int_equal(capsid__acl_rdir_push(&rec->targets[0], "", &st), 0);
  st.ino++;
  assert_int_equal(capsid__acl_rdir_push(&rec->targets[0], "a/b c\n", &st),
                   0);
}


static void free_record(capsid__acl_record_t* rec, capsid__acl_plan_t* plan) {
  size_t i;

  for (i = 0; i < rec->targets[0].n_dirs; i++)
    capsid__free(rec->targets[0].dirs[i].rel);
  capsid__free(rec->targets[0].dirs);
  capsid__free(rec->targets);
  capsid__acl_plan_free(plan);
}


static void reseal(unsigned char* data, size_t len) {
  uint64_t h = capsid__fnv1a(CAPSID__FNV_BASIS, data, len - 8);
  int i;

  for (i = 0; i < 8; i++)
    data[len - 8 + i] = (unsigned char)(h >> (8 * i));
}


static void test_round_trip(void** state) {
  capsid__acl_record_t rec, back;
  capsid__acl_plan_t plan;
  capsid__buf_t buf = {0};

  (void)state;
  make_record(&rec, &plan);
  assert_int_equal(capsid__acl_record_serialize(&rec, &buf), 0);
  assert_int_equal(capsid__acl_record_parse(buf.data, buf.len, &back), 0);
  assert_string_equal(back.key, "/w/ws");
  assert_true(back.complete);
  assert_int_equal(back.n_targets, 1);
  assert_string_equal(back.targets[0].t.path, "/w/ws");
  assert_int_equal(back.targets[0].t.n_entries, 2);
  assert_int_equal(back.targets[0].t.entries[0].who.id, TEST_UID);
  assert_true(back.targets[0].digest == rec.targets[0].digest);
  assert_int_equal(back.targets[0].n_dirs, 2);
  assert_string_equal(back.targets[0].dirs[1].rel, "a/b c\n");
  assert_true(back.targets[0].dirs[1].ino == 1234568);
  assert_int_equal(back.targets[0].dirs[1].ctime_nsec, 123456789);
  capsid__acl_record_free(&back);
  capsid__buf_free(&buf);
  free_record(&rec, &plan);
}


static void test_every_truncation_and_flip_is_corrupt(void** state) {
  capsid__acl_record_t rec, back;
  capsid__acl_plan_t plan;
  capsid__buf_t buf = {0};
  unsigned char* copy;
  size_t i;

  (void)state;
  make_record(&rec, &plan);
  assert_int_equal(capsid__acl_record_serialize(&rec, &buf), 0);
  copy = capsid__malloc(buf.len);
  for (i = 0; i < buf.len; i++)
    assert_int_equal(capsid__acl_record_parse(buf.data, i, &back),
                     CAPSID_ECORRUPT);
  for (i = 0; i < buf.len; i++) {
    memcpy(copy, buf.data, buf.len);
    copy[i] ^= 0x40;
    assert_int_equal(capsid__acl_record_parse(copy, buf.len, &back),
                     CAPSID_ECORRUPT);
  }
  capsid__free(copy);
  capsid__buf_free(&buf);
  free_record(&rec, &plan);
}


/* Damage that keeps the checksum right: the structure checks must still
 * refuse it. */
static void test_lies_behind_a_valid_checksum(void** state) {
  capsid__acl_record_t rec, back;
  capsid__acl_plan_t plan;
  capsid__buf_t buf = {0};
  unsigned char* copy;
  size_t i, hits = 0;
  char* at;

  (void)state;
  make_record(&rec, &plan);
  /* A recorded path that climbs out of the root. */
  capsid__free(rec.targets[0].dirs[1].rel);
  rec.targets[0].dirs[1].rel = capsid__strdup("a/../../etc");
  assert_int_equal(capsid__acl_record_serialize(&rec, &buf), 0);
  assert_int_equal(capsid__acl_record_parse(buf.data, buf.len, &back),
                   CAPSID_ECORRUPT);
  capsid__buf_free(&buf);

  capsid__free(rec.targets[0].dirs[1].rel);
  rec.targets[0].dirs[1].rel = capsid__strdup("a..b/c");
  assert_int_equal(capsid__acl_record_serialize(&rec, &buf), 0);
  assert_int_equal(capsid__acl_record_parse(buf.data, buf.len, &back), 0);
  capsid__acl_record_free(&back);

  /* Every byte set to 0xff, resealed: counts and lengths become huge. No
   * crash, no huge allocation (ASan would say), and a parse that does
   * succeed must describe a well-formed record. */
  copy = capsid__malloc(buf.len);
  for (i = 8; i + 8 < buf.len; i++) {
    memcpy(copy, buf.data, buf.len);
    copy[i] = 0xff;
    reseal(copy, buf.len);
    if (capsid__acl_record_parse(copy, buf.len, &back) == 0) {
      assert_true(back.n_targets <= 1);
      if (back.n_targets == 1)
        assert_true(back.targets[0].t.path[0] == '/');
      capsid__acl_record_free(&back);
    } else {
      hits++;
    }
  }
  assert_true(hits > 0);
  at = memchr(buf.data, 'a', buf.len);
  assert_non_null(at);
  capsid__free(copy);
  capsid__buf_free(&buf);
  free_record(&rec, &plan);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_every_truncation_and_flip_is_corrupt),
      cmocka_unit_test(test_lies_behind_a_valid_checksum),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
