/* The size rule of capsid.h ("ABI"): a program built against an older
 * header passes a smaller struct, and the library reads none of the bytes
 * past it. Each old struct here ends exactly where a PROT_NONE page
 * begins, so a read past it kills the test. */
#include "test-common.h"

#include "abi.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char* echo_argv[] = {"/bin/echo", "abi", NULL};

/* size bytes of zeroes whose end touches an unreadable page. */
static void* at_guard(size_t size, void** map, size_t* map_len) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  char* base;

  *map_len = 2 * page;
  base = mmap(NULL, *map_len, PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert_true(base != MAP_FAILED);
  assert_int_equal(mprotect(base + page, page, PROT_NONE), 0);
  *map = base;
  return base + page - size;
}


/* The first stable spec ended at on_output: no cpu_limit, and whatever
 * comes after. The job runs as the old program meant it. */
static void old_spec_runs(void** state) {
  capsid_job_spec_t* old;
  capsid_result_t result;
  void* map;
  size_t len;

  (void)state;
  assert_true(CAPSID__JOB_SPEC_SIZE_V1 < sizeof(capsid_job_spec_t));
  old = at_guard(CAPSID__JOB_SPEC_SIZE_V1, &map, &len);
  old->size = CAPSID__JOB_SPEC_SIZE_V1;
  old->argv = echo_argv;
  old->policy = "read-only";
  old->network = -1;
  assert_int_equal(capsid_run_capture(old, &result), 0);
  assert_int_equal(result.exit_code, 0);
  assert_string_equal(result.out.data, "abi\n");
  capsid_result_free(&result);
  munmap(map, len);
}


/* A size the library never had (0: the size was not set) is refused
 * before anything runs. */
static void too_small_refused(void** state) {
  capsid_job_spec_t spec = CAPSID_JOB_SPEC_INIT;
  capsid_result_t result;

  (void)state;
  spec.argv = echo_argv;
  spec.size = CAPSID__JOB_SPEC_SIZE_V1 - 1;
  assert_int_equal(capsid_run_capture(&spec, &result), CAPSID_EINVAL);
  capsid_result_free(&result);
  spec.size = 0;
  assert_int_equal(capsid_run_capture(&spec, &result), CAPSID_EINVAL);
  capsid_result_free(&result);
}


/* A newer header's spec: fields this library does not know run when they
 * are unset, and are refused when set, never silently dropped. */
static void newer_spec(void** state) {
  struct {
    capsid_job_spec_t spec;
    uint64_t future_field;
  } newer;
  capsid_result_t result;

  (void)state;
  memset(&newer, 0, sizeof(newer));
  newer.spec.size = sizeof(newer);
  newer.spec.argv = echo_argv;
  newer.spec.policy = "read-only";
  newer.spec.network = -1;
  assert_int_equal(capsid_run_capture(&newer.spec, &result), 0);
  assert_string_equal(result.out.data, "abi\n");
  capsid_result_free(&result);
  newer.future_field = 1;
  assert_int_equal(capsid_run_capture(&newer.spec, &result), CAPSID_ENOTSUP);
  capsid_result_free(&result);
}


/* The options struct follows the same rule. */
static void runtime_options_size(void** state) {
  capsid_runtime_options_t* old;
  capsid_runtime_options_t opts = CAPSID_RUNTIME_OPTIONS_INIT;
  capsid_runtime_t* rt;
  void* map;
  size_t len;

  (void)state;
  old = at_guard(CAPSID__RUNTIME_OPTIONS_SIZE_V1, &map, &len);
  old->size = CAPSID__RUNTIME_OPTIONS_SIZE_V1;
  old->max_concurrency = 3;
  assert_int_equal(capsid_runtime_new(old, &rt), 0);
  capsid_runtime_close(rt, NULL, NULL);
  munmap(map, len);
  opts.size = 0;
  assert_int_equal(capsid_runtime_new(&opts, &rt), CAPSID_EINVAL);
  assert_int_equal(capsid_runtime_new(NULL, &rt), 0);
  capsid_runtime_close(rt, NULL, NULL);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(old_spec_runs),
      cmocka_unit_test(too_small_refused),
      cmocka_unit_test(newer_spec),
      cmocka_unit_test(runtime_options_size),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
