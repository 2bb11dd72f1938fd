/* capsid setup and capsid uninstall: elevated mode's one-time set-up and
 * its complete removal (root). Both print one line per step and share the
 * same driver; only the system call, help and closing line differ.
 * Setup is idempotent (what exists is kept); uninstall removes every ACL
 * entry, identity record, cgroup and state file capsid added, then checks
 * that nothing is left. */
#include "cli.h"

#include "system.h"

#include <stdio.h>
#include <string.h>

typedef struct system_cmd_s {
  const char* name;
  const char* help;
  int (*run)(capsid__report_cb cb, void* data, capsid_error_t* err);
  const char* done;
} system_cmd_t;

static const system_cmd_t setup_cmd = {
    "setup",
    "Usage: capsid setup\n\n"
    "Prepares elevated mode (run as root): the state directory\n"
    "(/var/lib/capsid, or $CAPSID_STATE_DIR), the reserved identity\n"
    "range and capability store, and the cgroup parents. Safe to\n"
    "rerun. `capsid uninstall` removes all of it.\n",
    capsid__system_setup,
    "capsid is set up: elevated mode is available (see capsid doctor)\n"};

static const system_cmd_t uninstall_cmd = {
    "uninstall",
    "Usage: capsid uninstall\n\n"
    "Removes what `capsid setup` and elevated jobs added: every ACL\n"
    "entry capsid wrote (from its records), the capability store and\n"
    "state directory, and the cgroups; then verifies. Run as root.\n",
    capsid__system_uninstall,
    "capsid is uninstalled\n"};


static void line(void* data, const char* feature, int ok,
                 const char* detail) {
  (void)data;
  printf("%-4s %-20s %s\n", ok ? "ok" : "--", feature, detail);
}


static int run_system_cmd(const system_cmd_t* cmd, int argc, char** argv) {
  capsid_error_t err = {0};
  char msg[1024];

  if (argc > 1) {
    int help = strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0;
    fputs(cmd->help, help ? stdout : stderr);
    return help ? 0 : 2;
  }
  if (cmd->run(line, NULL, &err) != 0) {
    fprintf(stderr, "capsid %s: %s\n", cmd->name,
            capsid_error_format(&err, msg, sizeof(msg)));
    capsid__error_free(&err);
    return 1;
  }
  fputs(cmd->done, stdout);
  return 0;
}


int cli_cmd_setup(int argc, char** argv) {
  return run_system_cmd(&setup_cmd, argc, argv);
}


int cli_cmd_uninstall(int argc, char** argv) {
  return run_system_cmd(&uninstall_cmd, argc, argv);
}
