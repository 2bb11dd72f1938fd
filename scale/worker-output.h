/* Writing what finished jobs owe Redis (worker-output.c). */
#ifndef CAPSID_SCALE_WORKER_OUTPUT_H
#define CAPSID_SCALE_WORKER_OUTPUT_H

#include "worker-state.h"

/* Sends what WJ_OUTPUT/WJ_REQUEUE jobs still need. */
void worker_output_flush(worker_t* w);
/* An XADD of name/value pairs into an add slot; values copied. */
int worker_add_init(worker_add_t* a, const char* stream, int n,
                    const char* const* fields, const size_t* lens);

#endif
