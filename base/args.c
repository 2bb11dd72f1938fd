#include "args.h"

#include "capsid-common.h"
#include "json-util.h"

#include <stdio.h>
#include <string.h>

void capsid__args_init(capsid__args_t* a, const char* cmd, int argc,
                       char** argv) {
  memset(a, 0, sizeof(*a));
  a->argc = argc;
  a->argv = argv;
  a->index = 1;
  a->cmd = cmd;
}


static void suggest(const capsid__args_t* a, const char* name,
                    const capsid__option_t* opts) {
  const char* known[64];
  const char* hint;
  size_t n = 0;

  for (; opts->id != 0 && n + 1 < CAPSID__ARRAY_SIZE(known); opts++)
    if (opts->long_name != NULL)
      known[n++] = opts->long_name;
  known[n] = NULL;
  hint = capsid__closest_name(name, known);
  if (hint != NULL)
    fprintf(stderr, "%s: unknown option '--%s' (did you mean '--%s'?)\n",
            a->cmd, name, hint);
  else
    fprintf(stderr, "%s: unknown option '--%s' (see '%s --help')\n", a->cmd,
            name, a->cmd);
}


static int take_value(capsid__args_t* a, const capsid__option_t* o,
                      const char* inline_value, const char* spelled) {
  if (!o->has_arg) {
    if (inline_value != NULL) {
      fprintf(stderr, "%s: option '%s' takes no value\n", a->cmd, spelled);
      return -1;
    }
    a->value = NULL;
    return o->id;
  }
  if (inline_value != NULL) {
    a->value = inline_value;
    return o->id;
  }
  if (a->index >= a->argc) {
    fprintf(stderr, "%s: option '%s' needs a value\n", a->cmd, spelled);
    return -1;
  }
  a->value = a->argv[a->index++];
  return o->id;
}


int capsid__args_next(capsid__args_t* a, const capsid__option_t* opts) {
  const capsid__option_t* o;
  const char* arg;
  const char* eq;
  char name[64];
  size_t len;

  if (a->pending_short != NULL && *a->pending_short != '\0') {
    char c = *a->pending_short++;
    for (o = opts; o->id != 0; o++)
      if (o->short_name == c)
        break;
    a->shortbuf[0] = '-';
    a->shortbuf[1] = c;
    a->shortbuf[2] = '\0';
    if (o->id == 0) {
      fprintf(stderr, "%s: unknown option '-%c' (see '%s --help')\n", a->cmd,
              c, a->cmd);
      return -1;
    }
    if (o->has_arg && *a->pending_short != '\0') {
      const char* v = a->pending_short;
      a->pending_short = NULL;
      return take_value(a, o, v, a->shortbuf);
    }
    if (*a->pending_short == '\0')
      a->pending_short = NULL;
    return take_value(a, o, NULL, a->shortbuf);
  }
  if (a->index >= a->argc)
    return 0;
  arg = a->argv[a->index];
  if (strcmp(arg, "--") == 0) {
    a->index++;
    return 0;
  }
  if (arg[0] != '-' || arg[1] == '\0')
    return 0; /* first operand */
  a->index++;
  if (arg[1] == '-') {
    eq = strchr(arg + 2, '=');
    len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
    if (len >= sizeof(name))
      len = sizeof(name) - 1;
    memcpy(name, arg + 2, len);
    name[len] = '\0';
    for (o = opts; o->id != 0; o++)
      if (o->long_name != NULL && strcmp(o->long_name, name) == 0)
        return take_value(a, o, eq ? eq + 1 : NULL, arg);
    suggest(a, name, opts);
    return -1;
  }
  a->pending_short = arg + 1;
  return capsid__args_next(a, opts);
}


int capsid__args_count(const char* s, uint64_t* out) {
  uint64_t v = 0;

  if (s == NULL || *s == '\0')
    return -1;
  for (; *s != '\0'; s++) {
    if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
      return -1;
    v = v * 10 + (uint64_t)(*s - '0');
  }
  *out = v;
  return 0;
}
