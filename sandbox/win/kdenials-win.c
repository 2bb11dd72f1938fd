/* Windows reports no refusal to capsid (an ACL check answers the job
 * only): denials come from the job's stderr (sandbox/denials.c). */
#include "denials.h"

size_t capsid__kdenials_take(const capsid__sandbox_t* sb,
                             capsid__kdenial_t** out) {
  (void)sb;
  *out = NULL;
  return 0;
}
