/* libFuzzer: duration and size parsers. */
#include "capsid-common.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  char* text = malloc(size + 1);
  uint64_t v = 12345;

  memcpy(text, data, size);
  text[size] = '\0';
  if (capsid_parse_duration(text, &v) != 0 && v != 12345)
    abort(); /* failure leaves the output alone */
  v = 12345;
  if (capsid_parse_size(text, &v) != 0 && v != 12345)
    abort();
  free(text);
  return 0;
}
