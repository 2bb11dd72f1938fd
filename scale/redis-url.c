/* Redis URL parsing. Kept free of hiredis so it is unit-tested alone. */
#include "redis-url.h"

#include "capsid-common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* K_TLS_SENTINEL (rediss-sentinel://) takes what K_TLS and K_SENTINEL
 * take. */
enum { K_PLAIN, K_TLS, K_UNIX, K_SENTINEL, K_TLS_SENTINEL };

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


/* Decodes s[0..len) into *out (replacing what was there). */
static int decode_into(char** out, const char* s, size_t len, const char* url,
                       const char* what, char* err, size_t err_size) {
  int bad;
  char* d = decode(s, len, &bad);

  if (d == NULL)
    return bad ? fail(err, err_size, url, "%s has a bad %%XX escape", what)
               : CAPSID_ENOMEM;
  if (*out != NULL)
    memset(*out, 0, strlen(*out));
  capsid__free(*out);
  *out = d;
  return 0;
}


/* [USER]:PASSWORD@ before the first '/' (the userinfo ends at the last '@'
 * there: a password may hold '@' only escaped, but be lenient). */
static int parse_userinfo(const char* url, const char** pp, const char* end,
                          scale_redis_url_t* out, char* err, size_t err_size) {
  const char* p = *pp;
  const char* at = NULL;
  const char* sep;
  size_t i;
  int rc;

  for (i = 0; p + i < end && p[i] != '/'; i++)
    if (p[i] == '@')
      at = p + i;
  if (at == NULL)
    return 0;
  sep = memchr(p, ':', (size_t)(at - p));
  if (sep == NULL)
    return fail(err, err_size, url, "the part before '@' must be "
                "[USER]:PASSWORD (a ':' is missing)");
  if (sep > p) {
    rc = decode_into(&out->user, p, (size_t)(sep - p), url, "user", err,
                     err_size);
    if (rc != 0)
      return rc;
  }
  rc = decode_into(&out->password, sep + 1, (size_t)(at - sep - 1), url,
                   "password", err, err_size);
  if (rc != 0)
    return rc;
  if (out->password[0] == '\0')
    return fail(err, err_size, url, "password is empty");
  *pp = at + 1;
  return 0;
}


/* HOST[:PORT], ending at ',', '/' or end. */
static int parse_hostport(const char* url, const char** pp, const char* end,
                          scale_redis_addr_t* a, int default_port, char* err,
                          size_t err_size) {
  const char* p = *pp;
  const char* host;
  const char* colon;
  size_t host_len, i;
  long v;

  a->port = default_port;
  if (p < end && *p == '[') {
    const char* close = memchr(p, ']', (size_t)(end - p));
    if (close == NULL)
      return fail(err, err_size, url, "host: '[' without a closing ']'");
    host = p + 1;
    host_len = (size_t)(close - host);
    for (i = 0; i < host_len; i++)
      if (!(hexval(host[i]) >= 0 || host[i] == ':' || host[i] == '.'))
        return fail(err, err_size, url, "host: \"%.*s\" is not an IPv6 "
                    "address", (int)host_len, host);
    p = close + 1;
    if (p < end && *p != ':' && *p != '/' && *p != ',')
      return fail(err, err_size, url, "host: unexpected '%c' after ']'", *p);
  } else {
    host = p;
    while (p < end && *p != ':' && *p != '/' && *p != ',')
      p++;
    host_len = (size_t)(p - host);
    for (i = 0; i < host_len; i++)
      if (!host_char_ok(host[i]))
        return fail(err, err_size, url, "host: character '%c' is not "
                    "allowed in a host name", host[i]);
  }
  if (host_len == 0)
    return fail(err, err_size, url, "host is missing");
  if (p < end && *p == ':') {
    colon = ++p;
    while (p < end && *p != '/' && *p != ',')
      p++;
    if (parse_int(colon, (size_t)(p - colon), 1, 65535, &v) != 0)
      return fail(err, err_size, url, "port \"%.*s\" is not a number from "
                  "1 to 65535", (int)(p - colon), colon);
    a->port = (int)v;
  }
  a->host = capsid__strndup(host, host_len);
  if (a->host == NULL)
    return CAPSID_ENOMEM;
  *pp = p;
  return 0;
}


static int parse_db(const char* url, const char* s, size_t len, int* db,
                    char* err, size_t err_size) {
  long v;

  if (parse_int(s, len, 0, 1000000, &v) != 0)
    return fail(err, err_size, url, "database \"%.*s\" is not a number "
                "from 0 to 1000000", (int)len, s);
  *db = (int)v;
  return 0;
}


/* One key=value of the query; which keys a scheme takes is fixed. */
static int parse_param(const char* url, int kind, const char* s, size_t len,
                       scale_redis_url_t* out, char* err, size_t err_size) {
  static const struct {
    int kind;
    const char* key;
    size_t off;
  } keys[] = {
      {K_TLS, "ca", offsetof(scale_redis_url_t, tls_ca)},
      {K_TLS, "cert", offsetof(scale_redis_url_t, tls_cert)},
      {K_TLS, "key", offsetof(scale_redis_url_t, tls_key)},
      {K_TLS, "sni", offsetof(scale_redis_url_t, tls_sni)},
      {K_SENTINEL, "sentinel-user", offsetof(scale_redis_url_t, sentinel_user)},
      {K_SENTINEL, "sentinel-password",
       offsetof(scale_redis_url_t, sentinel_password)},
  };
  const char* eq = memchr(s, '=', len);
  size_t klen = eq != NULL ? (size_t)(eq - s) : len;
  size_t i;

  if (eq == NULL || eq + 1 == s + len)
    return fail(err, err_size, url, "query parameter \"%.*s\" has no "
                "value", (int)klen, s);
  if (kind == K_UNIX && klen == 2 && memcmp(s, "db", 2) == 0)
    return parse_db(url, eq + 1, len - 3, &out->db, err, err_size);
  if (kind == K_TLS_SENTINEL && klen == 12 &&
      memcmp(s, "sentinel-tls", 12) == 0) {
    if (len - klen - 1 == 2 && memcmp(eq + 1, "no", 2) == 0)
      out->sentinel_plain = 1;
    else if (len - klen - 1 != 3 || memcmp(eq + 1, "yes", 3) != 0)
      return fail(err, err_size, url, "sentinel-tls= takes yes or no");
    return 0;
  }
  for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
    if ((keys[i].kind == kind ||
         (kind == K_TLS_SENTINEL && keys[i].kind != K_UNIX)) &&
        strlen(keys[i].key) == klen &&
        memcmp(keys[i].key, s, klen) == 0)
      return decode_into((char**)((char*)out + keys[i].off), eq + 1,
                         len - klen - 1, url, keys[i].key, err, err_size);
  return fail(err, err_size, url, "query parameters: \"%.*s\" is not "
              "known for this scheme (rediss:// takes ca, cert, key, sni; "
              "unix:// takes db; redis-sentinel:// takes sentinel-user, "
              "sentinel-password; rediss-sentinel:// takes all of those "
              "and sentinel-tls)", (int)klen, s);
}


static int parse_query(const char* url, int kind, const char* q,
                       scale_redis_url_t* out, char* err, size_t err_size) {
  const char* amp;
  int rc;

  while (*q != '\0') {
    amp = strchr(q, '&');
    if (amp == NULL)
      amp = q + strlen(q);
    rc = parse_param(url, kind, q, (size_t)(amp - q), out, err, err_size);
    if (rc != 0)
      return rc;
    q = *amp == '&' ? amp + 1 : amp;
  }
  if ((out->tls_cert == NULL) != (out->tls_key == NULL))
    return fail(err, err_size, url, "cert= and key= go together (a client "
                "certificate needs its key)");
  return 0;
}


/* HOST[:PORT][,HOST[:PORT]...]/MASTER[/DB] */
static int parse_sentinel(const char* url, const char* p, const char* end,
                          scale_redis_url_t* out, char* err, size_t err_size) {
  const char* name;
  int rc;

  for (;;) {
    if (out->n_sentinels == CLI_REDIS_MAX_SENTINELS)
      return fail(err, err_size, url, "more than %d sentinels",
                  CLI_REDIS_MAX_SENTINELS);
    rc = parse_hostport(url, &p, end, &out->sentinels[out->n_sentinels],
                        CLI_REDIS_SENTINEL_PORT, err, err_size);
    if (rc != 0)
      return rc;
    out->n_sentinels++;
    if (p == end || *p != ',')
      break;
    p++;
  }
  if (p == end || p + 1 == end)
    return fail(err, err_size, url, "the master's name is missing "
                "(redis-sentinel://HOST[:PORT][,...]/MASTER[/DB])");
  name = ++p;
  while (p < end && *p != '/')
    p++;
  out->master = capsid__strndup(name, (size_t)(p - name));
  if (out->master == NULL)
    return CAPSID_ENOMEM;
  if (p < end && p + 1 < end)
    return parse_db(url, p + 1, (size_t)(end - p - 1), &out->db, err,
                    err_size);
  return 0;
}


static int parse_rest(const char* url, int kind, const char* p,
                      scale_redis_url_t* out, char* err, size_t err_size) {
  const char* q = strchr(p, '?');
  const char* end = q != NULL ? q : p + strlen(p);
  scale_redis_addr_t a = {NULL, 0};
  int rc;

  if (strchr(p, '#') != NULL)
    return fail(err, err_size, url, "fragments are not supported");
  if (q != NULL && (kind == K_PLAIN))
    return fail(err, err_size, url, "query parameters are not taken by "
                "redis:// (rediss:// takes ca, cert, key, sni)");
  rc = parse_userinfo(url, &p, end, out, err, err_size);
  if (rc != 0)
    return rc;
  if (kind == K_UNIX) {
    if (p == end || *p != '/' || p + 1 == end)
      return fail(err, err_size, url, "the socket's path is missing "
                  "(unix:///PATH)");
    out->unix_path = capsid__strndup(p, (size_t)(end - p));
    if (out->unix_path == NULL)
      return CAPSID_ENOMEM;
  } else if (kind == K_SENTINEL || kind == K_TLS_SENTINEL) {
    rc = parse_sentinel(url, p, end, out, err, err_size);
  } else {
    rc = parse_hostport(url, &p, end, &a, CLI_REDIS_DEFAULT_PORT, err,
                        err_size);
    out->host = a.host;
    out->port = a.port;
    if (rc == 0 && p < end && p + 1 < end)
      rc = parse_db(url, p + 1, (size_t)(end - p - 1), &out->db, err,
                    err_size);
  }
  if (rc == 0 && q != NULL)
    rc = parse_query(url, kind, q + 1, out, err, err_size);
  return rc;
}


static int make_display(scale_redis_url_t* u) {
  char buf[600];

  if (u->unix_path != NULL)
    snprintf(buf, sizeof(buf), "unix:%s", u->unix_path);
  else if (u->master != NULL)
    snprintf(buf, sizeof(buf), "sentinel master \"%s\"", u->master);
  else
    snprintf(buf, sizeof(buf), strchr(u->host, ':') ? "[%s]:%d" : "%s:%d",
             u->host, u->port);
  u->display = capsid__strdup(buf);
  return u->display == NULL ? CAPSID_ENOMEM : 0;
}


int scale_redis_url_parse(const char* url, scale_redis_url_t* out, char* err,
                          size_t err_size) {
  static const struct {
    const char* prefix;
    int kind;
  } schemes[] = {{"redis://", K_PLAIN},
                 {"rediss://", K_TLS},
                 {"unix://", K_UNIX},
                 {"redis-sentinel://", K_SENTINEL},
                 {"rediss-sentinel://", K_TLS_SENTINEL}};
  size_t i;
  int rc = 0, matched = 0;

  memset(out, 0, sizeof(*out));
  out->port = CLI_REDIS_DEFAULT_PORT;
  if (err_size > 0)
    err[0] = '\0';
  if (url == NULL || url[0] == '\0')
    return fail(err, err_size, "", "is empty; expected "
                "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]");
  for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
    size_t n = strlen(schemes[i].prefix);
    if (strncmp(url, schemes[i].prefix, n) == 0) {
      out->tls = schemes[i].kind == K_TLS ||
                 schemes[i].kind == K_TLS_SENTINEL;
      matched = 1;
      rc = parse_rest(url, schemes[i].kind, url + n, out, err, err_size);
      break;
    }
  }
  if (!matched)
    rc = fail(err, err_size, url, "scheme must be redis://, rediss://, "
              "unix://, redis-sentinel:// or rediss-sentinel:// (expected "
              "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB])");
  if (rc == 0)
    rc = make_display(out);
  if (rc != 0)
    scale_redis_url_free(out);
  return rc;
}


static int copy_str(char** dst, const char* src) {
  if (src == NULL)
    return 0;
  *dst = capsid__strdup(src);
  return *dst == NULL ? CAPSID_ENOMEM : 0;
}


int scale_redis_url_copy(const scale_redis_url_t* in, scale_redis_url_t* out) {
  size_t i;
  int rc = 0;

  memset(out, 0, sizeof(*out));
  out->port = in->port;
  out->db = in->db;
  out->tls = in->tls;
  out->sentinel_plain = in->sentinel_plain;
  out->n_sentinels = in->n_sentinels;
  rc |= copy_str(&out->host, in->host);
  rc |= copy_str(&out->user, in->user);
  rc |= copy_str(&out->password, in->password);
  rc |= copy_str(&out->unix_path, in->unix_path);
  rc |= copy_str(&out->tls_ca, in->tls_ca);
  rc |= copy_str(&out->tls_cert, in->tls_cert);
  rc |= copy_str(&out->tls_key, in->tls_key);
  rc |= copy_str(&out->tls_sni, in->tls_sni);
  rc |= copy_str(&out->master, in->master);
  rc |= copy_str(&out->sentinel_user, in->sentinel_user);
  rc |= copy_str(&out->sentinel_password, in->sentinel_password);
  rc |= copy_str(&out->display, in->display);
  for (i = 0; i < in->n_sentinels; i++) {
    out->sentinels[i].port = in->sentinels[i].port;
    rc |= copy_str(&out->sentinels[i].host, in->sentinels[i].host);
  }
  if (rc != 0) {
    scale_redis_url_free(out);
    return CAPSID_ENOMEM;
  }
  return 0;
}


static void free_secret(char* s) {
  if (s != NULL)
    memset(s, 0, strlen(s));
  capsid__free(s);
}


void scale_redis_url_free(scale_redis_url_t* u) {
  size_t i;

  capsid__free(u->host);
  capsid__free(u->user);
  free_secret(u->password);
  capsid__free(u->unix_path);
  capsid__free(u->tls_ca);
  capsid__free(u->tls_cert);
  capsid__free(u->tls_key);
  capsid__free(u->tls_sni);
  capsid__free(u->master);
  capsid__free(u->sentinel_user);
  free_secret(u->sentinel_password);
  capsid__free(u->display);
  for (i = 0; i < u->n_sentinels; i++)
    capsid__free(u->sentinels[i].host);
  memset(u, 0, sizeof(*u));
}
