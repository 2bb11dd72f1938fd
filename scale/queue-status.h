/* What a queue looks like now, read from Redis with one connection and
 * nothing written: the job stream (length, the group's pending count and
 * lag), the workers the group has seen (pending jobs each, idle time),
 * the results stream (length, results in the last minute, the last
 * failures), the dead letters, and whether Redis persists (AOF). Used by
 * `capsid queue status` (table or JSON), `capsid queue web` and
 * `capsid doctor --redis`. */
#ifndef CAPSID_SCALE_QUEUE_STATUS_H
#define CAPSID_SCALE_QUEUE_STATUS_H

#include <jansson.h>
#include <stddef.h>

/* The failures listed, most recent first. */
#define SCALE_QUEUE_FAILURES 10

typedef struct scale_queue_config_s {
  const char* redis;       /* a Redis URL (redis-url.h) */
  const char* stream;      /* the job stream */
  const char* group;       /* NULL: "capsid" */
  const char* results;     /* NULL: STREAM-results */
  const char* dead_letter; /* NULL: STREAM-dead */
} scale_queue_config_t;

/* Fills *out with a new JSON object (see docs/scale-out.md, "capsid queue
 * status"). Returns 0; CAPSID_EINVAL for a bad URL; CAPSID_EIO when Redis
 * cannot be reached or refuses, with a message in err. */
int scale_queue_status(const scale_queue_config_t* cfg, json_t** out,
                       char* err, size_t err_size);

/* Only the persistence part ({"aof": bool, "appendfsync": "everysec",
 * "server": "HOST:PORT"}), for doctor. */
int scale_queue_persistence(const char* redis, json_t** out, char* err,
                            size_t err_size);

#endif
