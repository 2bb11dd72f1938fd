/* libFuzzer: the batch job-line parser, then the policy parser on what it
 * accepted. Neither may crash, leak or accept a line without argv. */
#include "capsid-common.h"
#include "jobline.h"
#include "policy.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  scale_jobline_t jl;
  capsid_error_t err;
  capsid__policy_t policy;

  memset(&err, 0, sizeof(err));
  if (scale_jobline_parse((const char*)data, size, 1, &jl, &err) == 0) {
    if (jl.spec.argv == NULL || jl.spec.argv[0] == NULL ||
        jl.spec.argv[0][0] == '\0')
      abort();
    /* The line's policy, parsed with it, resolves as a job's would. */
    if (jl.policy_error.code == 0 &&
        capsid__policy_copy(&policy, &jl.policy) == 0)
      capsid__policy_free(&policy);
  } else if (err.code == 0 || err.message == NULL) {
    abort(); /* every refusal must say why */
  }
  capsid__error_free(&err);
  scale_jobline_free(&jl);
  return 0;
}
