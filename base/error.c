/* Error codes, stage names and the per-job error record. Every string comes
 * from the X-macro tables in capsid.h, so a code and its text cannot drift. */
#include "capsid-common.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

const char* capsid_version_string(void) {
#define CAPSID__STR2(x) #x
#define CAPSID__STR(x) CAPSID__STR2(x)
  return CAPSID__STR(CAPSID_VERSION_MAJOR) "." CAPSID__STR(
      CAPSID_VERSION_MINOR) "." CAPSID__STR(CAPSID_VERSION_PATCH);
#undef CAPSID__STR
#undef CAPSID__STR2
}


const char* capsid_strerror(int err) {
  switch (err) {
  case 0:
    return "success";
#define XX(name, value, msg)                                                 \
  case CAPSID_E##name:                                                       \
    return msg;
    CAPSID_ERRNO_MAP(XX)
#undef XX
  default:
    return "unknown error code";
  }
}


const char* capsid_err_name(int err) {
  switch (err) {
  case 0:
    return "0";
#define XX(name, value, msg)                                                 \
  case CAPSID_E##name:                                                       \
    return "CAPSID_E" #name;
    CAPSID_ERRNO_MAP(XX)
#undef XX
  default:
    return "CAPSID_E?";
  }
}


const char* capsid_stage_name(int stage) {
  switch (stage) {
#define XX(name, value, str)                                                 \
  case CAPSID_STAGE_##name:                                                  \
    return str;
    CAPSID_STAGE_MAP(XX)
#undef XX
  default:
    return "unknown-stage";
  }
}


const char* capsid_mode_name(capsid_mode_t mode) {
  switch (mode) {
  case CAPSID_MODE_AUTO:
    return "auto";
  case CAPSID_MODE_ELEVATED:
    return "elevated";
  case CAPSID_MODE_UNPRIVILEGED:
    return "unprivileged";
  case CAPSID_MODE_NONE:
    return "none";
  case CAPSID_MODE_LANDLOCK_ONLY:
    return "landlock-only";
  }
  return "unknown";
}


const char* capsid_limits_name(int limits) {
  switch (limits) {
  case CAPSID_LIMITS_NONE:
    return "none";
  case CAPSID_LIMITS_CGROUP:
    return "cgroup";
  case CAPSID_LIMITS_RLIMIT:
    return "rlimit";
  }
  return "unknown";
}


int capsid__error_set(capsid_error_t* err, int code, int stage, int os_error,
                      const char* path, const char* field,
                      const char* fmt, ...) {
  va_list ap;
  char msg[1024];

  if (err == NULL)
    return code;
  capsid__error_free(err);
  err->code = code;
  err->stage = stage;
  err->os_error = os_error;
  err->path = capsid__strdup(path);
  err->field = capsid__strdup(field);
  if (fmt != NULL) {
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    err->message = capsid__strdup(msg);
  }
  return code;
}


void capsid__error_free(capsid_error_t* err) {
  if (err == NULL)
    return;
  capsid__free(err->path);
  capsid__free(err->field);
  capsid__free(err->message);
  memset(err, 0, sizeof(*err));
}


void capsid__error_move(capsid_error_t* dst, capsid_error_t* src) {
  capsid__error_free(dst);
  *dst = *src;
  memset(src, 0, sizeof(*src));
}


/* Does hay contain needle, ignoring ASCII case? (strcasestr is not on
 * every toolchain.) */
static int contains_nocase(const char* hay, const char* needle) {
  size_t n = strlen(needle), i;

  if (n == 0)
    return 0;
  for (; *hay != '\0'; hay++) {
    for (i = 0; i < n && hay[i] != '\0'; i++)
      if (tolower((unsigned char)hay[i]) != tolower((unsigned char)needle[i]))
        break;
    if (i == n)
      return 1;
  }
  return 0;
}


/* Does the message begin with the stage's name as a word ("policy: ...",
 * "policy.mode is missing", "\"policy.writable_roots\" must be ...")?
 * Then a stage prefix would only say it twice. */
static int starts_with_word(const char* msg, const char* word) {
  size_t n = strlen(word);
  char c;

  if (*msg == '"')
    msg++;
  if (strncmp(msg, word, n) != 0)
    return 0;
  c = msg[n];
  return !(isalnum((unsigned char)c) || c == '_' || c == '-');
}


/* One sentence from the parts the error carries. Each part is added only
 * when it says something the message does not already say, so a message
 * that names its field, or ends with the reason in words, does not come
 * out as "policy: policy: ..." or "no such file or directory: No such
 * file or directory". */
char* capsid_error_format(const capsid_error_t* err, char* buf, size_t size) {
  const char* stage;
  const char* msg;
  const char* os_text = NULL;
  char os[256];
  size_t n = 0;

  if (buf == NULL || size == 0)
    return buf;
  buf[0] = '\0';
  if (err == NULL || err->code == 0)
    return buf;
  stage = capsid_stage_name(err->stage);
  msg = err->message && *err->message ? err->message
                                      : capsid_strerror(err->code);
  if (err->os_error != 0) {
    os_text = capsid__os_strerror(err->os_error, os, sizeof(os));
    /* The OS text repeats the message, or the message already gives the
     * error's own words (the OS error is the detail that led to them). */
    if (contains_nocase(msg, os_text) ||
        (msg == err->message &&
         contains_nocase(msg, capsid_strerror(err->code))))
      os_text = NULL;
  }
  if (err->stage != CAPSID_STAGE_NONE && !starts_with_word(msg, stage))
    n = (size_t)snprintf(buf, size, "%s: ", stage);
  if (n < size)
    n += (size_t)snprintf(buf + n, size - n, "%s", msg);
  if (n < size && err->field != NULL && msg != err->message &&
      !contains_nocase(msg, err->field))
    n += (size_t)snprintf(buf + n, size - n, " (field %s)", err->field);
  if (n < size && err->path != NULL && msg != err->message &&
      !contains_nocase(msg, err->path))
    n += (size_t)snprintf(buf + n, size - n, ": %s", err->path);
  if (n < size && os_text != NULL)
    snprintf(buf + n, size - n, ": %s", os_text);
  return buf;
}
