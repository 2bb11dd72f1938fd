/* capsid cancel: the options of the cancel engine (scale/cancel.h). */
#include "cli.h"

#include "args.h"
#include "cancel.h"

#include <stdio.h>

enum { OPT_REDIS = 1, OPT_STREAM, OPT_HELP };

static const capsid__option_t cancel_options[] = {
    {0, "redis", 1, OPT_REDIS},
    {0, "stream", 1, OPT_STREAM},
    {'h', "help", 0, OPT_HELP},
    {0, NULL, 0, 0}};


int cli_cmd_cancel(int argc, char** argv) {
  const char* redis = NULL;
  const char* stream = NULL;
  capsid__args_t a;
  char err[600];
  int opt, rc, n;

  capsid__args_init(&a, "capsid cancel", argc, argv);
  while ((opt = capsid__args_next(&a, cancel_options)) > 0) {
    switch (opt) {
    case OPT_REDIS:
      redis = a.value;
      break;
    case OPT_STREAM:
      stream = a.value;
      break;
    case OPT_HELP:
      cli_help_cancel();
      return 0;
    }
  }
  if (opt < 0)
    return 2;
  n = argc - a.index;
  if (redis == NULL || stream == NULL || n < 1) {
    fprintf(stderr, "capsid cancel: --redis URL, --stream NAME and at least "
            "one ID are required (see 'capsid cancel --help')\n");
    return 2;
  }
  rc = scale_cancel(redis, stream, (const char* const*)argv + a.index, n,
                    err, sizeof(err));
  if (rc != 0) {
    fprintf(stderr, "capsid cancel: %s\n", err);
    return rc == CAPSID_EINVAL ? 2 : 1;
  }
  fprintf(stderr, "capsid cancel: %d ids marked canceled on \"%s\"; "
          "workers act within a second or two\n", n, stream);
  return 0;
}
