/* capsid_init leaves libuv's allocator to the host unless asked.
 *
 *   test-uv-allocator          a host that set its own allocator keeps it
 *   test-uv-allocator --ask    control: CAPSID_INIT_UV_ALLOCATOR takes it
 *
 * The host's allocator counts its calls; a job run through capsid (its
 * loop, pipes and process are libuv's) must be counted, or not. */
#include "capsid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

static unsigned long host_calls;

static void* host_malloc(size_t n) {
  host_calls++;
  return malloc(n);
}


static void* host_realloc(void* p, size_t n) {
  host_calls++;
  return realloc(p, n);
}


static void* host_calloc(size_t count, size_t n) {
  host_calls++;
  return calloc(count, n);
}


static void host_free(void* p) {
  free(p);
}


int main(int argc, char** argv) {
  const char* job[] = {"/bin/echo", "hello", NULL};
  capsid_job_spec_t spec = CAPSID_JOB_SPEC_INIT;
  capsid_result_t result;
  unsigned flags;
  int rc;

  flags = argc > 1 && strcmp(argv[1], "--ask") == 0
              ? CAPSID_INIT_UV_ALLOCATOR
              : 0;
  if (uv_replace_allocator(host_malloc, host_realloc, host_calloc,
                           host_free) != 0) {
    fprintf(stderr, "cannot set the host's allocator\n");
    return 1;
  }
  if (capsid_init(flags) != 0) {
    fprintf(stderr, "capsid_init(%u) failed\n", flags);
    return 1;
  }
  host_calls = 0;
  spec.argv = job;
  spec.policy = "read-only";
  spec.network = -1;
  rc = capsid_run_capture(&spec, &result);
  if (rc != 0 || result.out.data == NULL ||
      strcmp(result.out.data, "hello\n") != 0) {
    fprintf(stderr, "the job did not run: %s\n", capsid_strerror(rc));
    return 1;
  }
  capsid_result_free(&result);
  printf("libuv calls to the host's allocator: %lu\n", host_calls);
  if (flags == 0 && host_calls == 0) {
    fprintf(stderr, "capsid_init(0) took libuv's allocator from the host\n");
    return 1;
  }
  if (flags != 0 && host_calls != 0) {
    fprintf(stderr, "CAPSID_INIT_UV_ALLOCATOR left libuv on the host's "
            "allocator\n");
    return 1;
  }
  return 0;
}
