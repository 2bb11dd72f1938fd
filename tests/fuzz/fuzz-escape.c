/* libFuzzer: the result writer's JSON string escaper. Whatever the bytes,
 * the output must parse as JSON and decode to the input with each invalid
 * UTF-8 byte replaced by U+FFFD, and "valid" must say whether any was. */
#include "capsid-common.h"
#include "resultline.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  capsid__buf_t b = {0};
  json_error_t jerr;
  json_t* v;
  char* lossy;
  size_t lossy_len = 0;
  int valid = -1;

  if (scale_json_escape(&b, (const char*)data, size, &valid) != 0)
    abort();
  v = json_loadb(b.data, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
  if (v == NULL || !json_is_string(v))
    abort();
  lossy = scale_utf8_lossy((const char*)data, size, &lossy_len);
  if (json_string_length(v) != lossy_len ||
      memcmp(json_string_value(v), lossy, lossy_len) != 0)
    abort();
  if (valid != scale_utf8_valid((const char*)data, size))
    abort();
  capsid__free(lossy);
  json_decref(v);
  capsid__buf_free(&b);
  return 0;
}
