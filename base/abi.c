/* The size rule of the public structs a caller fills: a program built
 * against an older header passes a smaller struct, and the library must
 * not read past it (capsid.h, "ABI"). */
#include "abi.h"

#include <string.h>

/* A program built against an older header passes its own capsid_result_t
 * to capsid_run_capture and capsid_result_move, and the library writes a
 * whole one into it: a field added by growing the struct instead of
 * taking a reserved word would write past the program's. (The layout is
 * the same on every 64-bit target capsid builds for.) */
_Static_assert(sizeof(capsid_result_t) == 264,
               "capsid_result_t changed size: take new fields from reserved_");

int capsid__abi_copy(void* dst, size_t dst_size, const void* src,
                     size_t min_size) {
  const unsigned char* tail;
  size_t size;
  size_t i;

  memset(dst, 0, dst_size);
  if (src == NULL)
    return 0;
  memcpy(&size, src, sizeof(size));
  if (size < min_size)
    return CAPSID_EINVAL;
  /* A newer header's struct: what this library does not know must be
   * unset, or the caller asked for something it would silently not get. */
  tail = (const unsigned char*)src;
  for (i = dst_size; i < size; i++)
    if (tail[i] != 0)
      return CAPSID_ENOTSUP;
  memcpy(dst, src, size < dst_size ? size : dst_size);
  /* The library's copy describes itself. */
  memcpy(dst, &dst_size, sizeof(dst_size));
  return 0;
}
