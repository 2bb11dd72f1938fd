#include "args.h"

#include "capsid-common.h"
#include "json-util.h"

#include <stdio.h>
#include <string.h>

static const capsid__option_t* common_opts;
static capsid__args_apply_t common_apply;


void capsid__args_set_common(const capsid__option_t* opts,
                             capsid__args_apply_t apply) {
  common_opts = apply != NULL ? opts : NULL;
  common_apply = apply;
}


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
  const capsid__option_t* o;
  const char* known[64];
  const char* hint;
  size_t n = 0;

  for (; opts->id != 0 && n + 1 < CAPSID__ARRAY_SIZE(known); opts++)
    if (opts->long_name != NULL)
      known[n++] = opts->long_name;
  for (o = common_opts; o != NULL && o->id != 0 &&
                        n + 1 < CAPSID__ARRAY_SIZE(known); o++)
    known[n++] = o->long_name;
  known[n] = NULL;
  hint = capsid__closest_name(name, known);
  if (hint != NULL)
    fprintf(stderr, "%s: unknown option '--%s' (did you mean '--%s'?)\n",
            a->cmd, name, hint);
  else
    fprintf(stderr, "%s: unknown option '--%s' (see '%s --help')\n", a->cmd,
            name, a->cmd);
}


/* The option named c (short) or name (long) in opts, then in the common
 * table; NULL if neither has it. */
static const capsid__option_t* find(const capsid__option_t* opts, char c,
                                    const char* name) {
  const capsid__option_t* tables[2];
  const capsid__option_t* o;
  int t;

  tables[0] = opts;
  tables[1] = common_opts;
  for (t = 0; t < 2; t++)
    for (o = tables[t]; o != NULL && o->id != 0; o++)
      if (name != NULL ? o->long_name != NULL && strcmp(o->long_name, name) == 0
                       : o->short_name == c)
        return o;
  return NULL;
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


/* The next option, of the command's table or the common one (*found). */
static int next_option(capsid__args_t* a, const capsid__option_t* opts,
                       const capsid__option_t** found) {
  const capsid__option_t* o;
  const char* arg;
  const char* eq;
  char name[64];
  size_t len;

  if (a->pending_short != NULL && *a->pending_short != '\0') {
    char c = *a->pending_short++;
    o = find(opts, c, NULL);
    a->shortbuf[0] = '-';
    a->shortbuf[1] = c;
    a->shortbuf[2] = '\0';
    if (o == NULL) {
      fprintf(stderr, "%s: unknown option '-%c' (see '%s --help')\n", a->cmd,
              c, a->cmd);
      return -1;
    }
    *found = o;
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
    o = find(opts, 0, name);
    if (o != NULL) {
      *found = o;
      return take_value(a, o, eq ? eq + 1 : NULL, arg);
    }
    suggest(a, name, opts);
    return -1;
  }
  a->pending_short = arg + 1;
  return next_option(a, opts, found);
}


int capsid__args_next(capsid__args_t* a, const capsid__option_t* opts) {
  const capsid__option_t* o = NULL;
  const capsid__option_t* own;
  int id;

  for (;;) {
    id = next_option(a, opts, &o);
    if (id <= 0)
      return id;
    /* The command's own option, or the common one of that name? */
    for (own = opts; own->id != 0 && own != o; own++)
      ;
    if (own == o)
      return id;
    if (common_apply(a, id, a->value) != 0)
      return -1;
  }
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
