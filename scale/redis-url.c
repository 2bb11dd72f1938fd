/* Redis URL parsing. Kept free of hiredis so it is unit-tested alone. */
#include "redis-url.h"

#include "capsid-common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fail(char* err, size_t size, const char* url, const char* fmt,
                ...) CAPSID__PRINTF(4, 5);

static int fail(char* err, size_t size, const char* url, const char* fmt,
                ...) {
  va_list ap;
  int n;

  n = snprintf(err, size, "redis URL \"%s\": ", url);
  if (n >= 0 && (size_t)n < size) {
    va_start(ap, fmt);
    vsnprintf(err + n, size - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return CAPSID_EINVAL;
}


static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}


/* Copies s[0..len) with %XX decoded; NULL on a bad escape or a NUL byte
 * (a password cannot hold one: AUTH would cut it short). */
static char* decode(const char* s, size_t len, int* bad) {
  char* out = capsid__malloc(len + 1);
  size_t i, o = 0;
  int hi, lo;

  *bad = 0;
  if (out == NULL)
    return NULL;
  for (i = 0; i < len; i++) {
    if (s[i] != '%') {
      out[o++] = s[i];
      continue;
    }
    hi = i + 2 < len ? hexval(s[i + 1]) : -1;
    lo = i + 2 < len ? hexval(s[i + 2]) : -1;
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
      *bad = 1;
      capsid__free(out);
      return NULL;
    }
    out[o++] = (char)(hi * 16 + lo);
    i += 2;
  }
  out[o] = '\0';
  return out;
}


/* A decimal number in [min, max] made of digits only. */
static int parse_int(const char* s, size_t len, long min, long max,
                     long* out) {
  long v = 0;
  size_t i;

  if (len == 0 || len > 9)
    return -1;
  for (i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  if (v < min || v > max)
    return -1;
  *out = v;
  return 0;
}


static int host_char_ok(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}


int cli_redis_url_parse(const char* url, cli_redis_url_t* out, char* err,
                        size_t err_size) {
  const char* p;
  const char* end;
  const char* at;
  const char* host;
  const char* colon;
  size_t host_len, i;
  long v;
  int bad;

  memset(out, 0, sizeof(*out));
  out->port = CLI_REDIS_DEFAULT_PORT;
  if (err_size > 0)
    err[0] = '\0';
  if (url == NULL || url[0] == '\0')
    return fail(err, err_size, "", "is empty; expected "
                "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]");
  if (strncmp(url, "rediss://", 9) == 0)
    return fail(err, err_size, url, "TLS (rediss://) is not supported by "
                "this build; use redis:// through a TLS tunnel");
  if (strncmp(url, "unix://", 7) == 0)
    return fail(err, err_size, url, "unix sockets are not supported by "
                "this build; use redis://HOST:PORT");
  if (strncmp(url, "redis://", 8) != 0)
    return fail(err, err_size, url, "scheme must be redis:// (expected "
                "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB])");
  p = url + 8;
  end = p + strlen(p);
  if (memchr(p, '?', (size_t)(end - p)) != NULL ||
      memchr(p, '#', (size_t)(end - p)) != NULL)
    return fail(err, err_size, url, "query parameters and fragments are "
                "not supported");

  /* The userinfo ends at the last '@' before the path: a password may hold
   * '@' only escaped, but be lenient about where the path starts. */
  at = NULL;
  for (i = 0; p + i < end && p[i] != '/'; i++)
    if (p[i] == '@')
      at = p + i;
  if (at != NULL) {
    const char* sep = memchr(p, ':', (size_t)(at - p));
    if (sep == NULL)
      return fail(err, err_size, url, "the part before '@' must be "
                  "[USER]:PASSWORD (a ':' is missing)");
    if (sep > p) {
      out->user = decode(p, (size_t)(sep - p), &bad);
      if (out->user == NULL) {
        cli_redis_url_free(out);
        return bad ? fail(err, err_size, url, "user has a bad %%XX escape")
                   : CAPSID_ENOMEM;
      }
    }
    out->password = decode(sep + 1, (size_t)(at - sep - 1), &bad);
    if (out->password == NULL) {
      cli_redis_url_free(out);
      return bad ? fail(err, err_size, url, "password has a bad %%XX escape")
                 : CAPSID_ENOMEM;
    }
    if (out->password[0] == '\0') {
      cli_redis_url_free(out);
      return fail(err, err_size, url, "password is empty");
    }
    p = at + 1;
  }

  /* Host: bracketed IPv6 or a name/IPv4 address. */
  if (*p == '[') {
    const char* close = memchr(p, ']', (size_t)(end - p));
    if (close == NULL) {
      cli_redis_url_free(out);
      return fail(err, err_size, url, "host: '[' without a closing ']'");
    }
    host = p + 1;
    host_len = (size_t)(close - host);
    for (i = 0; i < host_len; i++)
      if (!(hexval(host[i]) >= 0 || host[i] == ':' || host[i] == '.')) {
        cli_redis_url_free(out);
        return fail(err, err_size, url, "host: \"%.*s\" is not an IPv6 "
                    "address", (int)host_len, host);
      }
    p = close + 1;
    if (*p != '\0' && *p != ':' && *p != '/') {
      cli_redis_url_free(out);
      return fail(err, err_size, url, "host: unexpected '%c' after ']'", *p);
    }
  } else {
    host = p;
    while (p < end && *p != ':' && *p != '/')
      p++;
    host_len = (size_t)(p - host);
    for (i = 0; i < host_len; i++)
      if (!host_char_ok(host[i])) {
        cli_redis_url_free(out);
        return fail(err, err_size, url, "host: character '%c' is not "
                    "allowed in a host name", host[i]);
      }
  }
  if (host_len == 0) {
    cli_redis_url_free(out);
    return fail(err, err_size, url, "host is missing");
  }
  out->host = capsid__strndup(host, host_len);
  if (out->host == NULL) {
    cli_redis_url_free(out);
    return CAPSID_ENOMEM;
  }

  if (*p == ':') {
    colon = ++p;
    while (p < end && *p != '/')
      p++;
    if (parse_int(colon, (size_t)(p - colon), 1, 65535, &v) != 0) {
      fail(err, err_size, url, "port \"%.*s\" is not a number from 1 to "
           "65535", (int)(p - colon), colon);
      cli_redis_url_free(out);
      return CAPSID_EINVAL;
    }
    out->port = (int)v;
  }
  if (*p == '/') {
    p++;
    if (p < end) {
      if (parse_int(p, (size_t)(end - p), 0, 1000000, &v) != 0) {
        fail(err, err_size, url, "database \"%s\" is not a number from 0 "
             "to 1000000", p);
        cli_redis_url_free(out);
        return CAPSID_EINVAL;
      }
      out->db = (int)v;
    }
  }
  return 0;
}


void cli_redis_url_free(cli_redis_url_t* u) {
  capsid__free(u->host);
  capsid__free(u->user);
  if (u->password != NULL)
    memset(u->password, 0, strlen(u->password));
  capsid__free(u->password);
  memset(u, 0, sizeof(*u));
}
