/* Blocking Redis connections for the commands that have no event loop of
 * their own (capsid submit, capsid collect): connect with a timeout,
 * authenticate and select the database from the URL. */
#ifndef CAPSID_SCALE_REDIS_SYNC_H
#define CAPSID_SCALE_REDIS_SYNC_H

#include "redis-url.h"

#include <hiredis/hiredis.h>
#include <stdint.h>

/* Returns a ready context, or NULL with a message in err and *transient
 * set when trying again may succeed (redis-retry.h). */
redisContext* scale_redis_sync_connect(const scale_redis_url_t* url,
                                       unsigned timeout_ms, char* err,
                                       size_t err_size, int* transient);

/* *c failed at the connection level: says so in err ("redis HOST:PORT:
 * connection lost: ..."), frees it (*c = NULL), and returns 1 when a new
 * connection may succeed (redis-retry.h). */
int scale_redis_sync_lost(redisContext** c, const scale_redis_url_t* url,
                          char* err, size_t err_size);

/* Runs one command on *c. Returns its reply, or NULL after a failure
 * with err set ("XREAD on \"KEY\" failed: ..." or a lost connection, then
 * freed) and *transient telling whether trying again may succeed. */
redisReply* scale_redis_sync_command(redisContext** c,
                                   const scale_redis_url_t* url,
                                   const char* key, int argc,
                                   const char** argv, char* err,
                                   size_t err_size, int* transient);

/* 0 when stream key no longer holds entry id (after a reconnect: Redis
 * lost its data, or the stream was deleted or trimmed); 1 when it does or
 * the check could not be made. */
int scale_redis_sync_entry_exists(redisContext* c, const char* key,
                                  const char* id);

/* Sleeps ms, but not past deadline_ms (capsid__hrtime's clock, in ms; 0:
 * no deadline). */
void scale_redis_sync_sleep(unsigned ms, uint64_t deadline_ms);

/* Parses a --redis value; prints the error as "cmd: ..." on failure. */
int scale_redis_sync_parse_url(const char* cmd, const char* text,
                             scale_redis_url_t* out);

#endif
