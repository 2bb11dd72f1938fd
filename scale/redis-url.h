/* Redis URLs, as every Redis client spells them:
 *
 *   redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]
 *
 * HOST may be a name, an IPv4 address or a bracketed IPv6 address. USER and
 * PASSWORD may carry %XX escapes. The default port is 6379 and the default
 * database 0. TLS (rediss://) and unix sockets (unix://) are refused with a
 * message saying so: this build does not speak them. */
#ifndef CAPSID_CLI_REDIS_URL_H
#define CAPSID_CLI_REDIS_URL_H

#include <stddef.h>

#define CLI_REDIS_DEFAULT_PORT 6379

typedef struct cli_redis_url_s {
  char* host;      /* without brackets */
  int port;
  char* user;      /* NULL: none given (AUTH PASSWORD alone) */
  char* password;  /* NULL: no AUTH */
  int db;
} cli_redis_url_t;

/* Parses url into out. On failure returns CAPSID_EINVAL and writes a
 * message naming the part that is wrong into err (err_size bytes). */
int cli_redis_url_parse(const char* url, cli_redis_url_t* out, char* err,
                        size_t err_size);
void cli_redis_url_free(cli_redis_url_t* u);

#endif
