/* A bound on what one reply may make a connection hold. hiredis buffers
 * a bulk string until its last byte is in, and builds the reply tree as
 * it goes: an entry of 100 MB put on a job stream by hand would be held
 * whole (more than once) before anyone could look at its size. The guard
 * counts, for each element at nesting depth `depth` of a reply (the
 * entries of an XREADGROUP reply are at depth 3), the bytes of its
 * strings already read plus the bytes of the string still arriving; the
 * connection checks it after each read (at most 16 KiB each) and drops
 * the connection once it is over, so what is held stays within max plus
 * one read. */
#ifndef CAPSID_SCALE_REDIS_GUARD_H
#define CAPSID_SCALE_REDIS_GUARD_H

#include <hiredis/async.h>
#include <stddef.h>

typedef struct scale_redis_guard_s {
  size_t max;   /* 0: no bound */
  int depth;    /* the elements bounded: 0 the whole reply, 1 its items */
  size_t unit;  /* bytes of the strings of the current element so far */
} scale_redis_guard_t;

/* Makes ac's reader count into g (which must outlive ac); g's max may
 * be set or changed later. */
void scale_redis_guard_attach(redisAsyncContext* ac, scale_redis_guard_t* g);
/* The bytes the current element holds or is receiving, when above g's
 * max; 0 while within it. */
size_t scale_redis_guard_over(const redisAsyncContext* ac,
                              const scale_redis_guard_t* g);

#endif
