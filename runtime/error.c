/* Error codes, stage names and the per-job error record. Every string comes
 * from the X-macro tables in capsid.h, so a code and its text cannot drift. */
#include "capsid-common.h"

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


char* capsid_error_format(const capsid_error_t* err, char* buf, size_t size) {
  char os[256];
  size_t n;

  if (buf == NULL || size == 0)
    return buf;
  buf[0] = '\0';
  if (err == NULL || err->code == 0)
    return buf;
  n = (size_t)snprintf(buf, size, "%s: %s", capsid_stage_name(err->stage),
                       err->message ? err->message
                                    : capsid_strerror(err->code));
  if (n < size && err->field != NULL && err->message == NULL)
    n += (size_t)snprintf(buf + n, size - n, " (field %s)", err->field);
  if (n < size && err->path != NULL && err->message == NULL)
    n += (size_t)snprintf(buf + n, size - n, ": %s", err->path);
  if (n < size && err->os_error != 0)
    snprintf(buf + n, size - n, ": %s",
             capsid__os_strerror(err->os_error, os, sizeof(os)));
  return buf;
}
