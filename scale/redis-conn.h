/* One asynchronous Redis connection on the loop that survives Redis
 * restarts: it reconnects with backoff (redis-retry.h: 100 ms doubling to
 * 5 s, with jitter), authenticates and selects the database from the URL
 * each time, checks with PING that the server answers commands (a server
 * still loading its data answers LOADING: that is retried too), and tells
 * its owner when it is ready again. Commands are refused (not queued)
 * while it is down, so the owner decides what to resend. A set-up error
 * that retrying cannot cure (a wrong password, a database that does not
 * exist) ends the connection's tries: the owner hears on_fatal. */
#ifndef CAPSID_SCALE_REDIS_CONN_H
#define CAPSID_SCALE_REDIS_CONN_H

#include "redis-url.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <uv.h>

typedef struct scale_redis_conn_s scale_redis_conn_t;

/* on_ready: connected, authenticated, database selected. on_down: the
 * connection was lost or could not be made (why says what happened);
 * every command in flight has had its callback called with a NULL reply
 * before this. */
typedef struct scale_redis_conn_cbs_s {
  void (*on_ready)(scale_redis_conn_t* c, void* data);
  void (*on_down)(scale_redis_conn_t* c, void* data, const char* why);
  /* The connection gave up for good (why says what failed); it stays
   * down until closed. */
  void (*on_fatal)(scale_redis_conn_t* c, void* data, const char* why);
  void* data;
} scale_redis_conn_cbs_t;

/* Starts connecting at once. url is copied. label prefixes messages on
 * stderr ("capsid worker"). Returns 0 or CAPSID_ENOMEM. */
int scale_redis_conn_new(uv_loop_t* loop, const scale_redis_url_t* url,
                       const char* label, const scale_redis_conn_cbs_t* cbs,
                       scale_redis_conn_t** out);
int scale_redis_conn_is_ready(const scale_redis_conn_t* c);
/* Sends a command; fn gets (ac, redisReply* or NULL, privdata). NULL means
 * the connection went down before the reply came. Returns 0, or
 * CAPSID_EAGAIN when the connection is not ready (fn is then not called). */
int scale_redis_conn_send(scale_redis_conn_t* c, redisCallbackFn* fn,
                          void* privdata, int argc, const char** argv,
                          const size_t* lens);
/* Every reply is awaited at most ms (default 15 s; 0: for ever), and so
 * is the set-up of a new connection: a socket silent for longer with a
 * reply owed is dropped (the callbacks in flight get NULL) and made again
 * with backoff, saying so on stderr. Keep it above any BLOCK time sent.
 * Also sets TCP_USER_TIMEOUT on the sockets made after the call. */
void scale_redis_conn_set_deadline(scale_redis_conn_t* c, unsigned ms);
/* Bounds what one element at nesting depth `depth` of a reply may hold
 * (redis-guard.h; an XREADGROUP reply's entries are at depth 3): past max
 * bytes the connection is dropped and made again, before the element is
 * held whole, and on_down says so. max 0: no bound (the default). */
void scale_redis_conn_limit_replies(scale_redis_conn_t* c, size_t max,
                                    int depth);
/* Closes for good. graceful: wait for the replies in flight; otherwise
 * their callbacks get NULL at once. on_closed runs once everything is
 * released (c is then freed). */
void scale_redis_conn_close(scale_redis_conn_t* c, int graceful,
                            void (*on_closed)(void* data), void* data);

/* The text of a reply for messages ("ERR ...", "nil", ...). */
const char* scale_redis_reply_text(const redisReply* r);

#endif
