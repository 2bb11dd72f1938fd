/* capsid: the command. Each subcommand lives in cli/cmd-<name>.c. */
#include "cli.h"

#include "cli-log.h"
#include "json-util.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

typedef struct command_s {
  const char* name;
  int (*run)(int argc, char** argv);
  int usage_status; /* what a usage error exits with */
} command_t;

/* run keeps 0-127 for the program; its own failures are 125. */
static const command_t commands[] = {
    {"run", cli_cmd_run, CLI_EXIT_CAPSID},
    {"batch", cli_cmd_batch, 2},
    {"bench", cli_cmd_bench, 2},
    {"acl", cli_cmd_acl, 2},
    {"audit", cli_cmd_audit, 2},
#ifdef CAPSID_SCALE_OUT
    {"worker", cli_cmd_worker, 2},
    {"submit", cli_cmd_submit, 2},
    {"collect", cli_cmd_collect, 2},
    {"cancel", cli_cmd_cancel, 2},
    {"queue", cli_cmd_queue, 2},
#endif
#ifdef CAPSID_SERVE
    {"serve", cli_cmd_serve, 2},
#endif
    {"doctor", cli_cmd_doctor, 2},
    {"setup", cli_cmd_setup, 2},
    {"uninstall", cli_cmd_uninstall, 2},
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


/* A command's help, then the options every command takes. */
static int command_help(const command_t* c) {
  char* sub[] = {(char*)c->name, "--help", NULL};
  int rc = c->run(2, sub);

  if (rc == 0)
    cli_log_help(stdout);
  return rc;
}


static int run_command(const command_t* c, int argc, char** argv) {
  char name[32];
  uint64_t start = capsid__hrtime();
  int rc;

  if (argc == 2 &&
      (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
    return command_help(c);
  snprintf(name, sizeof(name), "capsid %s", c->name);
  if (cli_log_setup(name) != 0)
    return c->usage_status;
  rc = c->run(argc, argv);
  capsid__log(CAPSID__LOG_INFO, name, "exit %d after %.3f ms", rc,
              (double)(capsid__hrtime() - start) / 1e6);
  return rc;
}


int main(int argc, char** argv) {
  size_t i;
  int lead;

  /* Before any libuv call: libuv and capsid then share mimalloc. */
  capsid_init(CAPSID_INIT_UV_ALLOCATOR);
  /* A job closing its stdin early must give us EPIPE, not kill capsid. */
  CLI_IGNORE_SIGPIPE();
  CLI_BINARY_STDIO();
  cli_log_init();
  /* capsid -v COMMAND ...: the same as the option after the command. */
  lead = cli_log_leading(argc, argv);
  if (lead > 0 && lead == argc - 1) {
    fprintf(stderr, "capsid: '%s' sets the log level of a command and "
            "needs one after it (the version is 'capsid --version')\n",
            argv[lead]);
    return 2;
  }
  if (lead > 0) {
    argv[lead] = argv[0];
    argv += lead;
    argc -= lead;
  }

  if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
      strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
    if (argc >= 3 && strcmp(argv[1], "help") == 0 &&
        strcmp(argv[2], "help") != 0) {
      for (i = 0; i < CAPSID__ARRAY_SIZE(commands); i++)
        if (strcmp(argv[2], commands[i].name) == 0)
          return command_help(&commands[i]);
      return unknown_command("help topic", argv[2]);
    }
    cli_help_main();
#ifdef CAPSID_SCALE_OUT
    cli_help_main_scale_out();
#endif
#ifdef CAPSID_SERVE
    cli_help_main_serve();
#endif
    cli_log_help(stdout);
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
    printf("capsid %s\n", capsid_version_string());
    return 0;
  }
  for (i = 0; i < CAPSID__ARRAY_SIZE(commands); i++)
    if (strcmp(argv[1], commands[i].name) == 0)
      return run_command(&commands[i], argc - 1, argv + 1);
  if (argv[1][0] == '-') {
    fprintf(stderr, "capsid: unknown option '%s' (options come after the "
            "command, but for -v/--verbose and -q/--quiet; see 'capsid "
            "--help' or 'capsid --version')\n", argv[1]);
    return 2;
  }
  return unknown_command("command", argv[1]);
}
