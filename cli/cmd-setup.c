/* capsid setup: elevated mode's one-time set-up (root). Idempotent: what
 * exists is kept, and every line says what was done. */
#include "cli.h"

#include "system.h"

#include <stdio.h>
#include <string.h>

static void line(void* data, const char* feature, int ok,
                 const char* detail) {
  (void)data;
  printf("%-4s %-20s %s\n", ok ? "ok" : "--", feature, detail);
}


int cli_cmd_setup(int argc, char** argv) {
  capsid_error_t err = {0};
  char msg[1024];
  int rc;

  if (argc > 1) {
    int help = strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0;
    fprintf(help ? stdout : stderr,
            "Usage: capsid setup\n\n"
            "Prepares elevated mode (run as root): the state directory\n"
            "(/var/lib/capsid, or $CAPSID_STATE_DIR), the reserved identity\n"
            "range and capability store, and the cgroup parents. Safe to\n"
            "rerun. `capsid uninstall` removes all of it.\n");
    return help ? 0 : 2;
  }
  rc = capsid__system_setup(line, NULL, &err);
  if (rc != 0) {
    fprintf(stderr, "capsid setup: %s\n",
            capsid_error_format(&err, msg, sizeof(msg)));
    capsid__error_free(&err);
    return 1;
  }
  printf("capsid is set up: elevated mode is available (see capsid doctor)\n");
  return 0;
}
