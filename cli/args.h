/* A small getopt_long replacement with errors that name the option and
 * suggest the closest one. Portable (no getopt on every toolchain). */
#ifndef CAPSID_CLI_ARGS_H
#define CAPSID_CLI_ARGS_H

typedef struct cli_option_s {
  char short_name; /* 0: none */
  const char* long_name;
  int has_arg;
  int id;
} cli_option_t;

typedef struct cli_args_s {
  int argc;
  char** argv;
  int index;         /* next argv element to look at */
  const char* value; /* argument of the option just returned */
  const char* cmd;   /* "capsid run", for messages */
  char shortbuf[3];
  const char* pending_short; /* rest of a "-abc" cluster */
} cli_args_t;

void cli_args_init(cli_args_t* a, const char* cmd, int argc, char** argv);
/* Returns an option id, 0 when options end (a.index is then the first
 * operand; "--" is consumed), or -1 after printing an error to stderr. */
int cli_args_next(cli_args_t* a, const cli_option_t* opts);

#endif
