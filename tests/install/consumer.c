/* A program embedding capsid, built against an installed prefix by
 * install-consume.sh: it runs one job that echoes and checks its output. */
#include <capsid.h>

#include <stdio.h>
#include <string.h>

int main(void) {
  const char* argv[] = {"/bin/echo", "hello from capsid", NULL};
  capsid_job_spec_t spec = CAPSID_JOB_SPEC_INIT;
  capsid_result_t result;
  int rc;

  spec.argv = argv;
  spec.policy = "read-only";
  rc = capsid_run_capture(&spec, &result);
  if (rc != 0) {
    fprintf(stderr, "capsid %s: %s\n", capsid_version_string(),
            capsid_strerror(rc));
    return 1;
  }
  printf("%s", result.out.data);
  rc = result.exit_code == 0 &&
               strcmp(result.out.data, "hello from capsid\n") == 0
           ? 0
           : 1;
  capsid_result_free(&result);
  return rc;
}
