/* libFuzzer: the incremental ACL record loader. A record is checksummed,
 * so each input is tried as it is and again with a correct checksum, which
 * lets the fuzzer reach the structure checks behind it. Whatever parses
 * must serialise and parse back to the same shape. */
#include "acl-int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

static void check(const unsigned char* data, size_t size) {
  capsid__acl_record_t rec, back;
  capsid__buf_t buf = {0};
  size_t i;

  if (capsid__acl_record_parse(data, size, &rec) != 0)
    return;
  for (i = 0; i < rec.n_targets; i++)
    if (rec.targets[i].t.path == NULL || rec.targets[i].t.path[0] != '/')
      abort();
  if (capsid__acl_record_serialize(&rec, &buf) != 0)
    abort();
  if (capsid__acl_record_parse(buf.data, buf.len, &back) != 0)
    abort();
  if (back.n_targets != rec.n_targets || back.complete != rec.complete ||
      strcmp(back.key, rec.key) != 0)
    abort();
  for (i = 0; i < rec.n_targets; i++)
    if (back.targets[i].n_dirs != rec.targets[i].n_dirs ||
        back.targets[i].t.n_entries != rec.targets[i].t.n_entries)
      abort();
  capsid__acl_record_free(&back);
  capsid__acl_record_free(&rec);
  capsid__buf_free(&buf);
}


int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  unsigned char* copy;
  uint64_t h;
  int i;

  check(data, size);
  if (size < 16)
    return 0;
  copy = malloc(size);
  memcpy(copy, data, size);
  h = capsid__fnv1a(CAPSID__FNV_BASIS, copy, size - 8);
  for (i = 0; i < 8; i++)
    copy[size - 8 + i] = (unsigned char)(h >> (8 * i));
  check(copy, size);
  free(copy);
  return 0;
}
