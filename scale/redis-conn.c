/* A reconnecting asynchronous Redis connection (see redis-conn.h).
 *
 * States: CONNECTING (socket connecting, then AUTH/SELECT/PING in flight)
 * -> READY -> (lost) WAITING (backoff timer) -> CONNECTING ... The PING
 * reply, queued after AUTH and SELECT on the same socket, is what proves
 * the whole set-up worked: Redis answers in order. */
#include "redis-conn.h"

#include "redis-endpoint.h"
#include "redis-guard.h"
#include "redis-retry.h"
#include "redis-uv.h"
#include "sentinel.h"

#include "capsid-common.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

enum { ST_WAITING, ST_CONNECTING, ST_READY, ST_FAILED, ST_CLOSING };

struct scale_redis_conn_s {
  uv_loop_t* loop;
  scale_redis_url_t url;
  char* label;
  scale_redis_conn_cbs_t cbs;
  redisAsyncContext* ac;
  uv_timer_t timer;
  int state;
  scale_redis_backoff_t backoff;
  int setup_failed;    /* a set-up reply was an error: say why on down */
  int setup_transient; /* ... and retrying may cure it */
  int fatal_pending;   /* gave up while connecting: say so from the loop */
  scale_redis_endpoint_t ep; /* where this try connects */
  scale_sentinel_watch_t* watch; /* redis-sentinel://: who the master is */
  char why[512];
  void (*on_closed)(void* data);
  void* closed_data;
  int timers_open;
  /* The deadline on every reply (scale_redis_conn_set_deadline): a socket
   * that stays silent this long with replies owed (or while setting up)
   * is dropped and made again. since_ms: when the wait began (connect,
   * first command sent, or the last reply). */
  uv_timer_t deadline_timer;
  unsigned deadline_ms;
  unsigned pending;
  uint64_t since_ms;
  /* scale_redis_conn_limit_replies: what one reply element may hold. */
  scale_redis_guard_t guard;
};

/* A command's callback, wrapped to count the replies still owed. */
typedef struct conn_cmd_s {
  scale_redis_conn_t* c;
  redisCallbackFn* fn;
  void* priv;
} conn_cmd_t;

/* Why: a proxy or a NAT that keeps the socket open but forwards nothing
 * sends no error ever; only a deadline notices. 15 s is above the
 * longest BLOCK the worker asks for (2 s). */
#define DEFAULT_DEADLINE_MS 15000u


const char* scale_redis_reply_text(const redisReply* r) {
  if (r == NULL)
    return "no reply (connection lost)";
  switch (r->type) {
  case REDIS_REPLY_ERROR:
  case REDIS_REPLY_STATUS:
  case REDIS_REPLY_STRING:
    return r->str;
  case REDIS_REPLY_NIL:
    return "nil";
  case REDIS_REPLY_INTEGER:
    return "integer";
  case REDIS_REPLY_ARRAY:
    return "array";
  }
  return "unknown reply";
}


static void connect_now(scale_redis_conn_t* c);


static uint64_t now_ms(void) {
  return capsid__hrtime() / 1000000u;
}


static void maybe_closed(scale_redis_conn_t* c) {
  if (c->state != ST_CLOSING || c->ac != NULL || c->timers_open > 0)
    return;
  if (c->on_closed != NULL)
    c->on_closed(c->closed_data);
  scale_redis_url_free(&c->url);
  capsid__free(c->label);
  capsid__free(c);
}


static void gave_up(scale_redis_conn_t* c);
static void went_down(scale_redis_conn_t* c, const char* why);
static void after_read(redisAsyncContext* ac, void* data);


/* Ready behind Sentinel: the sentinels named another master (a
 * failover): drop this connection now, with the replies in flight, so
 * that nothing more is written to the old master; the reconnect asks the
 * sentinels again. */
static void check_moved(scale_redis_conn_t* c) {
  char now[300];
  redisAsyncContext* ac = c->ac;

  if (ac == NULL ||
      !scale_sentinel_watch_moved(c->watch, c->ep.host, c->ep.port, now,
                                  sizeof(now)))
    return;
  snprintf(c->why, sizeof(c->why), "the sentinels name %.100s as the "
           "master now; leaving %.100s:%d", now, c->ep.host, c->ep.port);
  /* hiredis calls on_disconnect, then frees; detach so that it is
   * went_down here that reports, once. */
  c->ac = NULL;
  ac->data = NULL;
  redisAsyncFree(ac);
  went_down(c, c->why);
}


static void on_timer(uv_timer_t* t) {
  scale_redis_conn_t* c = t->data;

  if (c->fatal_pending) {
    c->fatal_pending = 0;
    gave_up(c);
  } else if (c->state == ST_WAITING) {
    connect_now(c);
  } else if (c->state == ST_READY) {
    check_moved(c);
  }
}


/* The socket is gone (hiredis frees the context right after this). */
static void went_down(scale_redis_conn_t* c, const char* why) {
  char what[700];

  c->ac = NULL;
  if (c->state == ST_CLOSING) {
    maybe_closed(c);
    return;
  }
  snprintf(what, sizeof(what), "redis %s: %s", c->url.display, why);
  c->state = ST_WAITING;
  uv_timer_start(&c->timer, on_timer,
                 scale_redis_backoff_failed(&c->backoff, c->label, what), 0);
  if (c->cbs.on_down != NULL)
    c->cbs.on_down(c, c->cbs.data, why);
}


/* A set-up error that retrying cannot cure: no more tries. */
static void gave_up(scale_redis_conn_t* c) {
  char what[sizeof(c->why)];

  snprintf(what, sizeof(what), "redis %.200s: %.300s", c->url.display,
           c->why);
  memcpy(c->why, what, sizeof(what));
  c->ac = NULL;
  c->state = ST_FAILED;
  if (c->cbs.on_fatal != NULL)
    c->cbs.on_fatal(c, c->cbs.data, c->why);
}


/* The kernel's own checks, so a peer that vanished (a machine switched
 * off, a cut cable) is noticed also while nothing is owed: probes after
 * 5 s of silence, and unacknowledged data fails the socket after the
 * deadline. Best effort: the per-reply deadline covers the rest. */
static void keep_alive(scale_redis_conn_t* c, int fd) {
  int on = 1, idle = 5, intvl = 2, cnt = 3;

  if (fd < 0)
    return;
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
#ifdef TCP_USER_TIMEOUT
  if (c->deadline_ms != 0) {
    unsigned ut = c->deadline_ms;
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof(ut));
  }
#else
  (void)c;
#endif
}


/* The TLS tunnel saw why the connection failed (a handshake refused, a
 * certificate not trusted): say that rather than "closed". */
static int tunnel_failed(scale_redis_conn_t* c) {
  int permanent;

  if (!scale_redis_endpoint_failure(&c->ep, c->why, sizeof(c->why),
                                    &permanent))
    return 0;
  if (permanent)
    gave_up(c);
  else
    went_down(c, c->why);
  return 1;
}


static void lost(scale_redis_conn_t* c) {
  if (!tunnel_failed(c))
    went_down(c, c->why);
}


static void on_connect(const redisAsyncContext* ac, int status) {
  scale_redis_conn_t* c = ac->data;

  if (c == NULL)
    return;
  if (status == REDIS_OK) {
    keep_alive(c, ac->c.fd);
    return;
  }
  /* hiredis frees ac after this and then fails the queued set-up
   * commands with NULL replies; forget ac first so nothing is sent on
   * it. */
  snprintf(c->why, sizeof(c->why), "cannot connect: %s",
           ac->errstr ? ac->errstr : "error");
  lost(c);
}


static void on_disconnect(const redisAsyncContext* ac, int status) {
  scale_redis_conn_t* c = ac->data;

  if (c == NULL) /* closed by scale_redis_conn_close */
    return;
  if (c->state != ST_CLOSING && tunnel_failed(c)) {
    c->setup_failed = 0;
    return;
  }
  if (c->setup_failed && !c->setup_transient && c->state != ST_CLOSING) {
    gave_up(c);
  } else if (c->setup_failed) {
    went_down(c, c->why);
  } else {
    snprintf(c->why, sizeof(c->why), "connection lost: %s",
             status == REDIS_OK ? "closed"
                                : (ac->errstr ? ac->errstr : "error"));
    /* A protocol error: the peer does not speak Redis. */
    if (status != REDIS_OK && !scale_redis_io_transient(ac->err) &&
        c->state != ST_CLOSING)
      gave_up(c);
    else
      went_down(c, c->why);
  }
  c->setup_failed = 0;
}


/* Replies to AUTH, SELECT and PING: an error closes the connection; the
 * retry (or the give-up) says why, and the owner sees on_down (or
 * on_fatal) with the reason. */
static void on_setup_reply(redisAsyncContext* ac, void* reply, void* priv) {
  scale_redis_conn_t* c = ac->data;
  redisReply* r = reply;

  if (c == NULL || r == NULL || r->type != REDIS_REPLY_ERROR ||
      c->setup_failed)
    return;
  snprintf(c->why, sizeof(c->why), "%s failed: %s", (const char*)priv,
           r->str);
  c->setup_failed = 1;
  c->setup_transient = scale_redis_reply_transient(r->str);
  redisAsyncDisconnect(ac);
}


static void on_ping(redisAsyncContext* ac, void* reply, void* priv) {
  scale_redis_conn_t* c = ac->data;
  redisReply* r = reply;
  char again[400];

  if (c == NULL || r == NULL || c->setup_failed ||
      c->state != ST_CONNECTING)
    return;
  if (r->type == REDIS_REPLY_ERROR) {
    /* LOADING while the server reads its data back after a restart. */
    on_setup_reply(ac, reply, priv);
    return;
  }
  snprintf(again, sizeof(again), "redis %s: connected again",
           c->url.display);
  scale_redis_backoff_ok(&c->backoff, c->label, again);
  c->state = ST_READY;
  if (c->watch != NULL)
    uv_timer_start(&c->timer, on_timer, 200, 200);
  if (c->cbs.on_ready != NULL)
    c->cbs.on_ready(c, c->cbs.data);
}


/* Behind Sentinel: the address given may be a master just demoted. */
static void on_role(redisAsyncContext* ac, void* reply, void* priv) {
  scale_redis_conn_t* c = ac->data;
  redisReply* r = reply;

  (void)priv;
  if (c == NULL || r == NULL || c->setup_failed ||
      r->type == REDIS_REPLY_ERROR || scale_sentinel_is_master_role(r))
    return;
  snprintf(c->why, sizeof(c->why), "%.300s:%d is not the master (a "
           "failover is going on)", c->ep.host, c->ep.port);
  c->setup_failed = 1;
  c->setup_transient = 1;
  redisAsyncDisconnect(ac);
}


static void connect_now(scale_redis_conn_t* c) {
  redisAsyncContext* ac;
  char db[16];
  const char* argv[3];
  int transient;

  /* A sentinel is asked with blocking one-second tries, and hiredis
   * resolves a host name with a blocking getaddrinfo; the URL is usually
   * an address or a name from /etc/hosts. */
  if (scale_redis_endpoint_resolve(&c->url, &c->ep, c->why, sizeof(c->why),
                                   &transient) != 0) {
    if (transient) {
      went_down(c, c->why);
    } else {
      c->state = ST_WAITING;
      c->fatal_pending = 1;
      uv_timer_start(&c->timer, on_timer, 0, 0);
    }
    return;
  }
  if (c->ep.unix_path[0] != '\0')
    ac = redisAsyncConnectUnix(c->ep.unix_path);
  else
    ac = redisAsyncConnect(c->ep.host, c->ep.port);
  if (ac == NULL) {
    went_down(c, "cannot connect: out of memory");
    return;
  }
  if (ac->err) {
    snprintf(c->why, sizeof(c->why), "cannot connect: %s", ac->errstr);
    redisAsyncFree(ac);
    went_down(c, c->why);
    return;
  }
  if (scale_redis_uv_attach(ac, c->loop) != 0) {
    redisAsyncFree(ac);
    went_down(c, "cannot connect: cannot watch the socket");
    return;
  }
  ac->data = c;
  c->ac = ac;
  scale_redis_guard_attach(ac, &c->guard);
  scale_redis_uv_after_read(ac, after_read, c);
  c->state = ST_CONNECTING;
  c->since_ms = now_ms();
  c->pending = 0;
  c->setup_failed = 0;
  c->setup_transient = 0;
  redisAsyncSetConnectCallback(ac, on_connect);
  redisAsyncSetDisconnectCallback(ac, on_disconnect);
  /* Queued now, sent as soon as the socket connects. */
  if (c->url.password != NULL) {
    argv[0] = "AUTH";
    if (c->url.user != NULL) {
      argv[1] = c->url.user;
      argv[2] = c->url.password;
      redisAsyncCommandArgv(ac, on_setup_reply, "AUTH", 3, argv, NULL);
    } else {
      argv[1] = c->url.password;
      redisAsyncCommandArgv(ac, on_setup_reply, "AUTH", 2, argv, NULL);
    }
  }
  if (c->url.db != 0) {
    snprintf(db, sizeof(db), "%d", c->url.db);
    argv[0] = "SELECT";
    argv[1] = db;
    redisAsyncCommandArgv(ac, on_setup_reply, "SELECT", 2, argv, NULL);
  }
  if (c->url.master != NULL) {
    argv[0] = "ROLE";
    redisAsyncCommandArgv(ac, on_role, "ROLE", 1, argv, NULL);
  }
  argv[0] = "PING";
  redisAsyncCommandArgv(ac, on_ping, "PING", 1, argv, NULL);
}


static char* dup_or_null(const char* s, int* oom) {
  char* d;

  if (s == NULL)
    return NULL;
  d = capsid__strdup(s);
  if (d == NULL)
    *oom = 1;
  return d;
}


/* Frees the socket now (every callback in flight gets NULL) and
 * reconnects with backoff, as for a lost connection; c->why says why. */
static void drop(scale_redis_conn_t* c) {
  redisAsyncContext* ac = c->ac;

  c->ac = NULL;
  ac->data = NULL;
  c->state = ST_WAITING;
  redisAsyncFree(ac);
  c->pending = 0;
  went_down(c, c->why);
}


/* Silent past the deadline: drop the socket (every callback in flight
 * gets NULL now) and reconnect with backoff, as for a lost connection. */
static void on_deadline(uv_timer_t* t) {
  scale_redis_conn_t* c = t->data;
  redisAsyncContext* ac = c->ac;
  uint64_t now = now_ms();

  if (c->deadline_ms == 0 || ac == NULL || now - c->since_ms < c->deadline_ms)
    return;
  if (c->state == ST_READY && c->pending > 0)
    snprintf(c->why, sizeof(c->why), "no reply within %u ms; dropping the "
             "connection", c->deadline_ms);
  else if (c->state == ST_CONNECTING)
    snprintf(c->why, sizeof(c->why), "no answer to the connection set-up "
             "within %u ms", c->deadline_ms);
  else
    return;
  drop(c);
}


/* An element of a reply grew past the limit: drop the socket before it
 * is held whole (redis-guard.h). */
static void after_read(redisAsyncContext* ac, void* data) {
  scale_redis_conn_t* c = data;
  size_t held;

  if (ac->data != c || c->ac != ac ||
      (held = scale_redis_guard_over(ac, &c->guard)) == 0)
    return;
  snprintf(c->why, sizeof(c->why), "a reply element of %zu bytes, more "
           "than the %zu allowed; dropping the connection rather than "
           "holding it", held, c->guard.max);
  drop(c);
}


void scale_redis_conn_set_deadline(scale_redis_conn_t* c, unsigned ms) {
  c->deadline_ms = ms;
}


void scale_redis_conn_limit_replies(scale_redis_conn_t* c, size_t max,
                                    int depth) {
  c->guard.max = max;
  c->guard.depth = depth;
}


int scale_redis_conn_new(uv_loop_t* loop, const scale_redis_url_t* url,
                       const char* label, const scale_redis_conn_cbs_t* cbs,
                       scale_redis_conn_t** out) {
  scale_redis_conn_t* c = capsid__calloc(1, sizeof(*c));
  int oom = 0;

  if (c == NULL)
    return CAPSID_ENOMEM;
  c->loop = loop;
  oom = scale_redis_url_copy(url, &c->url) != 0;
  c->label = dup_or_null(label, &oom);
  if (oom) {
    scale_redis_url_free(&c->url);
    capsid__free(c->label);
    capsid__free(c);
    return CAPSID_ENOMEM;
  }
  c->cbs = *cbs;
  c->deadline_ms = DEFAULT_DEADLINE_MS;
  c->watch = scale_sentinel_watch_get(&c->url);
  uv_timer_init(loop, &c->timer);
  c->timer.data = c;
  uv_timer_init(loop, &c->deadline_timer);
  c->deadline_timer.data = c;
  c->timers_open = 2;
  uv_timer_start(&c->deadline_timer, on_deadline, 250, 250);
  *out = c;
  connect_now(c);
  return 0;
}


int scale_redis_conn_is_ready(const scale_redis_conn_t* c) {
  return c->state == ST_READY;
}


static void on_cmd_reply(redisAsyncContext* ac, void* reply, void* priv) {
  conn_cmd_t* cmd = priv;
  scale_redis_conn_t* c = cmd->c;

  if (c->pending > 0)
    c->pending--;
  c->since_ms = now_ms();
  cmd->fn(ac, reply, cmd->priv);
  capsid__free(cmd);
}


int scale_redis_conn_send(scale_redis_conn_t* c, redisCallbackFn* fn,
                          void* privdata, int argc, const char** argv,
                          const size_t* lens) {
  conn_cmd_t* cmd;

  if (c->state != ST_READY || c->ac == NULL)
    return CAPSID_EAGAIN;
  cmd = capsid__malloc(sizeof(*cmd));
  if (cmd == NULL)
    return CAPSID_EAGAIN;
  cmd->c = c;
  cmd->fn = fn;
  cmd->priv = privdata;
  if (redisAsyncCommandArgv(c->ac, on_cmd_reply, cmd, argc, argv, lens) !=
      REDIS_OK) {
    capsid__free(cmd);
    return CAPSID_EAGAIN;
  }
  if (c->pending++ == 0)
    c->since_ms = now_ms();
  return 0;
}


static void on_timer_closed(uv_handle_t* h) {
  scale_redis_conn_t* c = h->data;

  c->timers_open--;
  maybe_closed(c);
}


void scale_redis_conn_close(scale_redis_conn_t* c, int graceful,
                            void (*on_closed)(void* data), void* data) {
  int was_ready = c->state == ST_READY;
  redisAsyncContext* ac = c->ac;

  c->state = ST_CLOSING;
  c->on_closed = on_closed;
  c->closed_data = data;
  uv_close((uv_handle_t*)&c->timer, on_timer_closed);
  uv_close((uv_handle_t*)&c->deadline_timer, on_timer_closed);
  if (ac == NULL)
    return;
  if (graceful && was_ready) {
    /* on_disconnect comes once the replies in flight are in. */
    redisAsyncDisconnect(ac);
    return;
  }
  /* hiredis calls no disconnect callback for a socket still connecting,
   * and defers the free when called from one of its callbacks: detach
   * first so whatever it calls later finds no connection object. */
  c->ac = NULL;
  ac->data = NULL;
  redisAsyncFree(ac);
}
