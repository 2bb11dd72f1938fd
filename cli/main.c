/* capsid: the command. Each subcommand lives in cli/cmd-<name>.c. */
#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

typedef struct command_s {
  const char* name;
  int (*run)(int argc, char** argv);
} command_t;

static const command_t commands[] = {
    {"run", cli_cmd_run},
    {"batch", cli_cmd_batch},
    {"bench", cli_cmd_bench},
    {"acl", cli_cmd_acl},
    {"audit", cli_cmd_audit},
#ifdef CAPSID_SCALE_OUT
    {"worker", cli_cmd_worker},
    {"submit", cli_cmd_submit},
    {"collect", cli_cmd_collect},
#endif
    {"doctor", cli_cmd_doctor},
    {"setup", cli_cmd_setup},
    {"uninstall", cli_cmd_uninstall},
};


int main(int argc, char** argv) {
  size_t i;

  /* Before any libuv call: libuv and capsid then share mimalloc. */
  capsid_init();
  /* A job closing its stdin early must give us EPIPE, not kill capsid. */
  CLI_IGNORE_SIGPIPE();
  CLI_BINARY_STDIO();

  if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
      strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
    if (argc >= 3 && strcmp(argv[1], "help") == 0) {
      for (i = 0; i < CAPSID__ARRAY_SIZE(commands); i++)
        if (strcmp(argv[2], commands[i].name) == 0) {
          char* sub[] = {argv[2], "--help", NULL};
          return commands[i].run(2, sub);
        }
    }
    cli_help_main();
#ifdef CAPSID_SCALE_OUT
    cli_help_main_scale_out();
#endif
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
    printf("capsid %s\n", capsid_version_string());
    return 0;
  }
  for (i = 0; i < CAPSID__ARRAY_SIZE(commands); i++)
    if (strcmp(argv[1], commands[i].name) == 0)
      return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "capsid: unknown command '%s' (see 'capsid --help')\n",
          argv[1]);
  return 2;
}
