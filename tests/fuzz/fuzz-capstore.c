/* libFuzzer: the capability store loader. Whatever the bytes, it either
 * accepts a store whose every id is in range, allocated and used once, or
 * says CAPSID_ECORRUPT; and an accepted store formats to text that parses
 * back to the same store. */
#include "capstore.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  capsid__capstore_t s, t;
  capsid_error_t err = {0};
  char* text;
  size_t i, j;
  int rc;

  rc = capsid__capstore_parse((const char*)data, size, &s, &err);
  capsid__error_free(&err);
  if (rc != 0) {
    if (rc != CAPSID_ECORRUPT && rc != CAPSID_ENOMEM)
      abort();
    return 0;
  }
  for (i = 0; i < s.n_workspaces + s.n_roots; i++) {
    uint32_t id = i < s.n_workspaces ? s.workspaces[i].id
                                     : s.roots[i - s.n_workspaces].id;
    if (id < s.first + 3 || id >= s.next || s.next > s.first + s.count)
      abort();
    for (j = 0; j < i; j++) {
      uint32_t other = j < s.n_workspaces ? s.workspaces[j].id
                                          : s.roots[j - s.n_workspaces].id;
      if (other == id)
        abort();
    }
  }
  text = capsid__capstore_format(&s);
  if (text == NULL)
    abort();
  if (capsid__capstore_parse(text, strlen(text), &t, &err) != 0 ||
      t.n_workspaces != s.n_workspaces || t.n_roots != s.n_roots ||
      t.next != s.next || t.first != s.first || t.count != s.count ||
      strcmp(t.sid_domain, s.sid_domain) != 0)
    abort();
  capsid__capstore_free(&t);
  capsid__error_free(&err);
  capsid__free(text);
  capsid__capstore_free(&s);
  return 0;
}
