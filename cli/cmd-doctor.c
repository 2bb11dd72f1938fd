/* capsid doctor: what works on this machine, one line per feature, and
 * which mode `--mode auto` will use. Exits 0 when a confining mode is
 * available, 1 when none is. */
#include "cli.h"

#include "system.h"

#include <stdio.h>
#include <string.h>

static void line(void* data, const char* feature, int ok,
                 const char* detail) {
  (void)data;
  printf("%-4s %-22s %s\n", ok ? "ok" : "--", feature, detail);
}


int cli_cmd_doctor(int argc, char** argv) {
  const char* workspace = NULL;
  capsid_mode_t mode;
  int i;

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      printf("Usage: capsid doctor [WORKSPACE]\n\n"
             "Checks each feature confinement uses on this machine (and the\n"
             "POSIX ACL support of WORKSPACE's filesystem, default: the\n"
             "current directory), and says which mode --mode auto runs.\n"
             "Exit status: 0 when a confining mode is available, 1 if not.\n");
      return 0;
    }
    if (argv[i][0] == '-' || workspace != NULL) {
      fprintf(stderr, "capsid doctor: unexpected argument '%s' (see "
              "'capsid doctor --help')\n", argv[i]);
      return 2;
    }
    workspace = argv[i];
  }
  mode = capsid__system_probe(workspace, line, NULL);
  if (mode == CAPSID_MODE_NONE) {
    printf("auto mode: none -- no confining mode is available here\n");
    return 1;
  }
  printf("auto mode: %s\n", capsid_mode_name(mode));
  return 0;
}
