/* The capability store: strict parsing, atomic save, corrupt files moved
 * aside (never reused), stable allocation. */
#include "test-common.h"

#include "capstore.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int parses(const char* text) {
  capsid__capstore_t s;
  capsid_error_t err = {0};
  int rc = capsid__capstore_parse(text, strlen(text), &s, &err);

  capsid__capstore_free(&s);
  capsid__error_free(&err);
  return rc;
}


static void test_parse_is_strict(void** state) {
  (void)state;
  assert_int_equal(parses("{\"version\":1,\"first\":1000,\"count\":10,"
                          "\"next\":1005,\"workspaces\":{\"/a\":1003},"
                          "\"roots\":{\"/b\":1004}}"),
                   0);
  /* A SID domain (Windows stores have one; its drive paths are checked by
   * the Windows suite). */
  assert_int_equal(parses("{\"version\":1,\"first\":1000,\"count\":10,"
                          "\"next\":1004,\"sid_domain\":"
                          "\"S-1-5-21-1-4294967295-3\",\"workspaces\":"
                          "{\"/w/ws\":1003},\"roots\":{}}"),
                   0);
  /* Each is corruption, not something to guess about. */
  const char* bad[] = {
      "",
      "[]",
      "{\"version\":2,\"first\":1000,\"count\":10,\"next\":1003,"
      "\"workspaces\":{},\"roots\":{}}",
      "{\"version\":1,\"first\":1000,\"count\":10,\"next\":1003,"
      "\"workspaces\":{}}",
      "{\"version\":1,\"first\":1000,\"count\":3,\"next\":1003,"
      "\"workspaces\":{},\"roots\":{}}",
      "{\"version\":1,\"first\":1000,\"count\":10,\"next\":1020,"
      "\"workspaces\":{},\"roots\":{}}",
      "{\"version\":1,\"first\":1000,\"count\":10,\"next\":1005,"
      "\"workspaces\":{\"rel\":1003},\"roots\":{}}",
      "{\"version\":1,\"first\":1000,\"count\":10,\"next\":1005,"
      "\"workspaces\":{\"/a\":1001},\"roots\":{}}",
      "{\"version\":1,\"first\":1000,\"count\":10,\"next\":1005,"
      "\"workspaces\":{\"/a\":1007},\"roots\":{}}",
      "{\"version\":1,\"first\":1000,\"count\":10,\"next\":1005,"
      "\"workspaces\":{\"/a\":1003},\"roots\":{\"/b\":1003}}",
      "{\"version\":1,\"first\":4294967290,\"count\":10,\"next\":4294967293,"
      "\"workspaces\":{},\"roots\":{}}",
      "{\"version\":1,\"version\":1,\"first\":1000,\"count\":10,"
      "\"next\":1003,\"workspaces\":{},\"roots\":{}}",
      "{\"version\":1,\"first\":-5,\"count\":10,\"next\":1003,"
      "\"workspaces\":{},\"roots\":{}}",
      /* A Windows store's SID domain: exactly three 32-bit values. */
      "{\"version\":1,\"first\":1000,\"count\":10,\"next\":1003,"
      "\"sid_domain\":\"S-1-5-21-1-2\",\"workspaces\":{},\"roots\":{}}",
      "{\"version\":1,\"first\":1000,\"count\":10,\"next\":1003,"
      "\"sid_domain\":\"S-1-5-21-1-2-3-4\",\"workspaces\":{},"
      "\"roots\":{}}",
      "{\"version\":1,\"first\":1000,\"count\":10,\"next\":1003,"
      "\"sid_domain\":\"S-1-5-21-1-2-4294967296\",\"workspaces\":{},"
      "\"roots\":{}}",
      "{\"version\":1,\"first\":1000,\"count\":10,\"next\":1003,"
      "\"sid_domain\":7,\"workspaces\":{},\"roots\":{}}",
      "{\"version\":1,\"first\":1000,\"count\":10,\"next\":1004,"
      "\"workspaces\":{\"C:relative\":1003},\"roots\":{}}",
  };
  size_t i;
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    if (parses(bad[i]) != CAPSID_ECORRUPT)
      fail_msg("accepted: %s", bad[i]);
  }
}


static void test_round_trip_and_allocation(void** state) {
  char* dir = test_mkdtemp();
  const char* paths[] = {"/w/one", "/w/extra"};
  const char* paths2[] = {"/w/two"};
  capsid__capstore_t s, t;
  capsid_error_t err = {0};
  uint32_t ids[2], ids2[2], id;
  int added;

  (void)state;
  assert_int_equal(capsid__capstore_load(dir, &s, &err), CAPSID_ENOSETUP);
  capsid__error_free(&err);
  assert_int_equal(capsid__capstore_init(&s, 5000, 6), 0);
  assert_int_equal(capsid__capstore_save(dir, &s, &err), 0);
  capsid__capstore_free(&s);

  assert_int_equal(capsid__capstore_ensure(dir, paths, 2, ids, &s, &err), 0);
  assert_int_equal(ids[0], 5003);
  assert_int_equal(ids[1], 5004);
  capsid__capstore_free(&s);
  /* Stable: the same paths get the same ids, from the file. */
  assert_int_equal(capsid__capstore_ensure(dir, paths, 2, ids2, &s, &err), 0);
  assert_memory_equal(ids, ids2, sizeof(ids));
  capsid__capstore_free(&s);
  assert_int_equal(capsid__capstore_ensure(dir, paths2, 1, ids2, &s, &err),
                   0);
  assert_int_equal(ids2[0], 5005);
  /* The range (6 ids, 3 fixed) is now used up. */
  assert_int_equal(capsid__capstore_workspace(&s, "/w/three", &id, &added),
                   CAPSID_ERANGE);
  capsid__capstore_free(&s);
  assert_int_equal(capsid__capstore_load(dir, &t, &err), 0);
  assert_int_equal(t.n_workspaces, 2);
  assert_int_equal(t.n_roots, 1);
  capsid__capstore_free(&t);
  test_rmtree(dir);
  free(dir);
}


static void test_corrupt_store_is_moved_aside(void** state) {
  char* dir = test_mkdtemp();
  char path[512];
  capsid__capstore_t s;
  capsid_error_t err = {0};
  struct dirent* e;
  DIR* d;
  int aside = 0;

  (void)state;
  snprintf(path, sizeof(path), "%s/%s", dir, CAPSID__CAPSTORE_FILE);
  assert_int_equal(test_write_file(path, "{\"version\":1,\"fir", 17), 0);
  assert_int_equal(capsid__capstore_load(dir, &s, &err), CAPSID_ECORRUPT);
  assert_non_null(err.message);
  assert_non_null(strstr(err.message, "moved aside"));
  assert_non_null(err.path);
  capsid__error_free(&err);
  /* Gone from its place, kept beside it. */
  assert_int_not_equal(access(path, F_OK), 0);
  d = opendir(dir);
  while ((e = readdir(d)) != NULL)
    if (strncmp(e->d_name, "capabilities.json.corrupt-", 26) == 0)
      aside++;
  closedir(d);
  assert_int_equal(aside, 1);
  /* And the next load says "not set up", not a silent fresh store. */
  assert_int_equal(capsid__capstore_load(dir, &s, &err), CAPSID_ENOSETUP);
  capsid__error_free(&err);
  test_rmtree(dir);
  free(dir);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_is_strict),
      cmocka_unit_test(test_round_trip_and_allocation),
      cmocka_unit_test(test_corrupt_store_is_moved_aside),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
