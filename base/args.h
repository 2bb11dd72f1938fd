/* A small getopt_long replacement with errors that name the option and
 * suggest the closest one. Portable (no getopt on every toolchain). */
#ifndef CAPSID_ARGS_H
#define CAPSID_ARGS_H

#include <stdint.h>

typedef struct capsid__option_s {
  char short_name; /* 0: none */
  const char* long_name;
  int has_arg;
  int id;
} capsid__option_t;

typedef struct capsid__args_s {
  int argc;
  char** argv;
  int index;         /* next argv element to look at */
  const char* value; /* argument of the option just returned */
  const char* cmd;   /* "capsid run", for messages */
  char shortbuf[3];
  const char* pending_short; /* rest of a "-abc" cluster */
} capsid__args_t;

void capsid__args_init(capsid__args_t* a, const char* cmd, int argc,
                       char** argv);
/* Options every command takes besides its own (the log level's:
 * --verbose, --quiet), registered once by the program: capsid__args_next
 * hands them to apply and goes on, so no command's table or loop repeats
 * them. A command's own option of the same name wins. apply returns 0, or
 * -1 after printing an error. opts ends with an id of 0; NULL removes. */
typedef int (*capsid__args_apply_t)(const capsid__args_t* a, int id,
                                    const char* value);
void capsid__args_set_common(const capsid__option_t* opts,
                             capsid__args_apply_t apply);
/* Returns an option id, 0 when options end (a.index is then the first
 * operand; "--" is consumed), or -1 after printing an error to stderr. */
int capsid__args_next(capsid__args_t* a, const capsid__option_t* opts);

/* A count as a user writes one: decimal digits only, no sign, no unit
 * suffix, no fraction ("1.5" or "2k" jobs are mistakes, not sizes).
 * Returns 0 with *out set, or -1. */
int capsid__args_count(const char* s, uint64_t* out);

#endif
