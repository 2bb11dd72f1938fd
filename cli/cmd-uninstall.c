/* capsid uninstall: removes every ACL entry, identity record, cgroup and
 * state file capsid added, then checks that nothing is left. */
#include "cli.h"

#include "system.h"

#include <stdio.h>
#include <string.h>

static void line(void* data, const char* feature, int ok,
                 const char* detail) {
  (void)data;
  printf("%-4s %-20s %s\n", ok ? "ok" : "--", feature, detail);
}


int cli_cmd_uninstall(int argc, char** argv) {
  capsid_error_t err = {0};
  char msg[1024];
  int rc;

  if (argc > 1) {
    int help = strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0;
    fprintf(help ? stdout : stderr,
            "Usage: capsid uninstall\n\n"
            "Removes what `capsid setup` and elevated jobs added: every ACL\n"
            "entry capsid wrote (from its records), the capability store and\n"
            "state directory, and the cgroups; then verifies. Run as root.\n");
    return help ? 0 : 2;
  }
  rc = capsid__system_uninstall(line, NULL, &err);
  if (rc != 0) {
    fprintf(stderr, "capsid uninstall: %s\n",
            capsid_error_format(&err, msg, sizeof(msg)));
    capsid__error_free(&err);
    return 1;
  }
  printf("capsid is uninstalled\n");
  return 0;
}
