/* Redis URLs, as Redis clients spell them:
 *
 *   redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]
 *   rediss://[[USER]:PASSWORD@]HOST[:PORT][/DB][?ca=FILE&cert=FILE&key=FILE&sni=NAME]
 *   unix://[[USER]:PASSWORD@]/PATH[?db=N]
 *   redis-sentinel://[[USER]:PASSWORD@]HOST[:PORT][,HOST[:PORT]...]/MASTER[/DB]
 *                    [?sentinel-user=USER&sentinel-password=PASSWORD]
 *   rediss-sentinel://... as redis-sentinel://, and ca, cert, key, sni
 *                    as rediss://, and sentinel-tls=yes|no
 *
 * HOST may be a name, an IPv4 address or a bracketed IPv6 address. USER,
 * PASSWORD and the query values may carry %XX escapes. The default port is
 * 6379 (26379 for a sentinel) and the default database 0. rediss:// is
 * TLS with the server's certificate verified (against ca=FILE, else the
 * system's store) and its name checked against HOST (or sni=NAME);
 * cert=/key= add a client certificate. In redis-sentinel:// the HOSTs are
 * sentinels, asked in turn for MASTER's address; USER and PASSWORD are
 * the master's. rediss-sentinel:// is TLS to the master (and replicas)
 * and, unless sentinel-tls=no, to the sentinels too, all with the same
 * CA and client certificate. */
#ifndef CAPSID_SCALE_REDIS_URL_H
#define CAPSID_SCALE_REDIS_URL_H

#include <stddef.h>

#define CLI_REDIS_DEFAULT_PORT 6379
#define CLI_REDIS_SENTINEL_PORT 26379
#define CLI_REDIS_MAX_SENTINELS 16

typedef struct scale_redis_addr_s {
  char* host; /* without brackets */
  int port;
} scale_redis_addr_t;

typedef struct scale_redis_url_s {
  char* host;      /* without brackets; NULL for unix:// */
  int port;
  char* user;      /* NULL: none given (AUTH PASSWORD alone) */
  char* password;  /* NULL: no AUTH */
  int db;
  char* unix_path; /* unix://: the socket's path */
  int tls;         /* rediss:// */
  char* tls_ca;    /* NULL: the system's CA store */
  char* tls_cert;  /* client certificate (PEM), with tls_key */
  char* tls_key;
  char* tls_sni;   /* NULL: HOST when it is a name */
  char* master;    /* redis-sentinel://: the master's name */
  scale_redis_addr_t sentinels[CLI_REDIS_MAX_SENTINELS];
  size_t n_sentinels;
  char* sentinel_user;
  char* sentinel_password;
  int sentinel_plain; /* rediss-sentinel://...?sentinel-tls=no */
  char* display;   /* for messages: "HOST:PORT", "unix:PATH", ... */
} scale_redis_url_t;

/* Parses url into out. On failure returns CAPSID_EINVAL and writes a
 * message naming the part that is wrong into err (err_size bytes). */
int scale_redis_url_parse(const char* url, scale_redis_url_t* out, char* err,
                          size_t err_size);
/* A deep copy. Returns 0 or CAPSID_ENOMEM (out is then empty). */
int scale_redis_url_copy(const scale_redis_url_t* in, scale_redis_url_t* out);
void scale_redis_url_free(scale_redis_url_t* u);

#endif
