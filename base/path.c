/* The portable part of base/path.h. */
#include "path.h"

#include <string.h>

int capsid__path_is_within(const char* path, const char* root) {
  size_t n = strlen(root);

  if (strncmp(path, root, n) != 0)
    return 0;
  /* root "/" contains everything; otherwise the next char must end a
   * component, so /a/bc is not inside /a/b. */
  return path[n] == '\0' || path[n] == '/' || (n > 0 && root[n - 1] == '/');
}


int capsid__path_is_absolute_written(const char* path) {
  char head[4];
  size_t i;

  /* Every root is at most three characters long before its first name:
   * "/", "C:/", "//". */
  for (i = 0; i < 3 && path[i] != '\0'; i++)
    head[i] = capsid__path_is_sep(path[i]) ? '/' : path[i];
  head[i] = '\0';
  return capsid__path_is_absolute(head);
}
