/* The size rule of the public structs a caller fills (capsid.h, "ABI"). */
#ifndef CAPSID_ABI_H
#define CAPSID_ABI_H

#include "capsid.h"

#include <stddef.h>

/* The first stable layouts: a caller's size may not be smaller. Each
 * ends at the last field that layout had; fields appended since then
 * (capsid_job_spec_t's cpu_limit) read as zero for a smaller size. */
#define CAPSID__JOB_SPEC_SIZE_V1                                             \
  (offsetof(capsid_job_spec_t, on_output) + sizeof(capsid_output_cb))
#define CAPSID__RUNTIME_OPTIONS_SIZE_V1                                      \
  (offsetof(capsid_runtime_options_t, worker_threads) + sizeof(unsigned))

/* Copies a caller's struct, which starts with its size_t size, into the
 * library's own (dst_size bytes): the bytes the caller's size covers, and
 * zero for the rest. src NULL gives an all-zero dst. Returns 0,
 * CAPSID_EINVAL for a size below min_size, or CAPSID_ENOTSUP for a larger
 * size whose bytes beyond dst_size are not all zero. */
int capsid__abi_copy(void* dst, size_t dst_size, const void* src,
                     size_t min_size);

#endif /* CAPSID_ABI_H */
