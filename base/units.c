/* Parsers for the durations and sizes of the CLI and the batch format. */
#include "capsid-common.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* Reads a decimal number with an optional fraction. Sets *end past it.
 * Refuses signs, exponents and numbers past 2^53 so nothing wraps. */
static int parse_decimal(const char* s, double* value, const char** end) {
  double v = 0, scale = 1;
  int digits = 0;

  while (isdigit((unsigned char)*s)) {
    v = v * 10 + (*s++ - '0');
    digits++;
    if (v > 9007199254740992.0)
      return CAPSID_ERANGE;
  }
  if (*s == '.') {
    s++;
    while (isdigit((unsigned char)*s)) {
      scale /= 10;
      v += (*s++ - '0') * scale;
      digits++;
    }
  }
  if (digits == 0)
    return CAPSID_EINVAL;
  *value = v;
  *end = s;
  return 0;
}


typedef struct {
  const char* suffix;
  double factor;
} unit_t;


static int parse_with_units(const char* text, const unit_t* units,
                            size_t n_units, double default_factor,
                            uint64_t* out) {
  const char* end;
  double v, factor = default_factor, r;
  size_t i;
  int rc;

  if (text == NULL)
    return CAPSID_EINVAL;
  while (isspace((unsigned char)*text))
    text++;
  rc = parse_decimal(text, &v, &end);
  if (rc != 0)
    return rc;
  while (isspace((unsigned char)*end))
    end++;
  if (*end != '\0') {
    size_t len = strlen(end);
    while (len > 0 && isspace((unsigned char)end[len - 1]))
      len--;
    for (i = 0; i < n_units; i++)
      if (strlen(units[i].suffix) == len &&
          strncasecmp(end, units[i].suffix, len) == 0)
        break;
    if (i == n_units)
      return CAPSID_EINVAL;
    factor = units[i].factor;
  }
  r = v * factor;
  if (r >= 18446744073709549568.0)
    return CAPSID_ERANGE;
  *out = (uint64_t)(r + 0.5);
  return 0;
}


/* A bare number is seconds, as GNU timeout, sleep and systemd read it:
 * "-t 10" meaning 10 ms surprised everyone who typed it. */
int capsid_parse_duration(const char* text, uint64_t* ms) {
  static const unit_t units[] = {
      {"ms", 1},       {"s", 1000},       {"sec", 1000},
      {"m", 60000},    {"min", 60000},    {"h", 3600000},
  };
  if (ms == NULL)
    return CAPSID_EINVAL;
  return parse_with_units(text, units, CAPSID__ARRAY_SIZE(units), 1000,
                          ms);
}


int capsid_parse_size(const char* text, uint64_t* bytes) {
  static const unit_t units[] = {
      {"b", 1},
      {"k", 1024.0},
      {"kb", 1024.0},
      {"kib", 1024.0},
      {"m", 1048576.0},
      {"mb", 1048576.0},
      {"mib", 1048576.0},
      {"g", 1073741824.0},
      {"gb", 1073741824.0},
      {"gib", 1073741824.0},
      {"t", 1099511627776.0},
      {"tb", 1099511627776.0},
      {"tib", 1099511627776.0},
  };
  if (bytes == NULL)
    return CAPSID_EINVAL;
  return parse_with_units(text, units, CAPSID__ARRAY_SIZE(units), 1, bytes);
}
