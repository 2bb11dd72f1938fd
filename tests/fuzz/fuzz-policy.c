/* libFuzzer: policy text (preset or JSON). */
#include "capsid-common.h"
#include "policy.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  capsid__policy_t p;
  capsid_error_t err;
  char* text = malloc(size + 1);

  memcpy(text, data, size);
  text[size] = '\0';
  memset(&err, 0, sizeof(err));
  if (capsid__policy_parse(text, &p, &err) == 0) {
    if (p.kind != CAPSID__POLICY_READ_ONLY &&
        p.kind != CAPSID__POLICY_WORKSPACE_WRITE)
      abort();
    if (p.kind == CAPSID__POLICY_READ_ONLY && p.writable_roots.n != 0)
      abort();
    capsid__policy_free(&p);
  } else if (err.code != CAPSID_EPOLICY || err.field == NULL) {
    abort(); /* a refusal names the field */
  }
  capsid__error_free(&err);
  free(text);
  return 0;
}
