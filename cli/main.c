/* capsid: the command. Each subcommand lives in cli/cmd-<name>.c. */
#include "cli.h"

#include "json-util.h"

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
#ifdef CAPSID_SERVE
    {"serve", cli_cmd_serve},
#endif
    {"doctor", cli_cmd_doctor},
    {"setup", cli_cmd_setup},
    {"uninstall", cli_cmd_uninstall},
};


/* Lists the command names, for the messages that name a wrong one. */
static void list_commands(FILE* f) {
  size_t i;

  for (i = 0; i < CAPSID__ARRAY_SIZE(commands); i++)
    fprintf(f, "%s%s", i ? ", " : "", commands[i].name);
}


/* A wrong command or help topic: say so, suggest the closest name, list
 * them all, and exit 2 like every other usage error. */
static int unknown_command(const char* what, const char* name) {
  const char* known[CAPSID__ARRAY_SIZE(commands) + 1];
  const char* hint;
  size_t i;

  for (i = 0; i < CAPSID__ARRAY_SIZE(commands); i++)
    known[i] = commands[i].name;
  known[i] = NULL;
  hint = capsid__closest_name(name, known);
  fprintf(stderr, "capsid: unknown %s '%s'", what, name);
  if (hint != NULL)
    fprintf(stderr, " (did you mean '%s'?)", hint);
  fputs("; the commands are: ", stderr);
  list_commands(stderr);
  fputs("\n", stderr);
  return 2;
}


int main(int argc, char** argv) {
  size_t i;

  /* Before any libuv call: libuv and capsid then share mimalloc. */
  capsid_init(CAPSID_INIT_UV_ALLOCATOR);
  /* A job closing its stdin early must give us EPIPE, not kill capsid. */
  CLI_IGNORE_SIGPIPE();
  CLI_BINARY_STDIO();

  if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
      strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
    if (argc >= 3 && strcmp(argv[1], "help") == 0 &&
        strcmp(argv[2], "help") != 0) {
      for (i = 0; i < CAPSID__ARRAY_SIZE(commands); i++)
        if (strcmp(argv[2], commands[i].name) == 0) {
          char* sub[] = {argv[2], "--help", NULL};
          return commands[i].run(2, sub);
        }
      return unknown_command("help topic", argv[2]);
    }
    cli_help_main();
#ifdef CAPSID_SCALE_OUT
    cli_help_main_scale_out();
#endif
#ifdef CAPSID_SERVE
    cli_help_main_serve();
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
  if (argv[1][0] == '-') {
    fprintf(stderr, "capsid: unknown option '%s' (options come after the "
            "command; see 'capsid --help' or 'capsid --version')\n",
            argv[1]);
    return 2;
  }
  return unknown_command("command", argv[1]);
}
