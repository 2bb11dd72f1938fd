/* Drives a hiredis asynchronous context from a libuv loop: hiredis asks for
 * read/write interest through its ev hooks, and one uv_poll_t on the
 * connection's socket answers them. No thread, no blocking call on the
 * loop. */
#ifndef CAPSID_SCALE_REDIS_UV_H
#define CAPSID_SCALE_REDIS_UV_H

#include <hiredis/async.h>
#include <uv.h>

/* Attaches ac to loop. Call right after redisAsyncConnect, before any
 * command. Returns 0, or a CAPSID_E* code (ac is then left unattached and
 * the caller frees it). The attachment is released by hiredis itself
 * (ev.cleanup) when the context is freed. */
int scale_redis_uv_attach(redisAsyncContext* ac, uv_loop_t* loop);

/* Calls fn after each read hiredis handled (its replies' callbacks have
 * run); fn may free ac. ac must be attached. */
void scale_redis_uv_after_read(redisAsyncContext* ac,
                               void (*fn)(redisAsyncContext* ac, void* data),
                               void* data);

#endif
