/* capsid doctor --redis URL: is the scale-out queue's Redis persistent?
 * Without AOF a Redis restart empties the queue, the pending list and the
 * results (docs/scale-out.md). Built with the scale-out commands only. */
#include "cli.h"

#include "queue-status.h"

#include <stdio.h>

int cli_doctor_redis(const char* url,
                     void (*check)(void* data, const char* feature, int ok,
                                   const char* detail),
                     void* data) {
  char err[600], detail[800];
  json_t* p = NULL;
  const json_t* aof;
  const char* fsync;
  int rc = scale_queue_persistence(url, &p, err, sizeof(err));

  if (rc != 0) {
    check(data, "redis persistence", 0, err);
    return -1;
  }
  aof = json_object_get(p, "aof");
  fsync = json_string_value(json_object_get(p, "appendfsync"));
  if (json_is_true(aof))
    snprintf(detail, sizeof(detail), "AOF on at %s (appendfsync %s)",
             json_string_value(json_object_get(p, "server")),
             fsync != NULL ? fsync : "unknown");
  else
    snprintf(detail, sizeof(detail), "warning: AOF %s at %s: a restart "
             "loses queued jobs, the pending list and results; set "
             "appendonly yes", json_is_false(aof) ? "off" : "unknown",
             json_string_value(json_object_get(p, "server")));
  check(data, "redis persistence", json_is_true(aof), detail);
  json_decref(p);
  return 0;
}
