/* The cancel engine (cancel.h). */
#include "cancel.h"

#include "capsid-common.h"
#include "redis-retry.h"
#include "redis-sync.h"

#include <stdio.h>
#include <string.h>

#define CANCEL_TTL_MS "604800000" /* a week */
#define CANCEL_RETRY_MS 30000u


static int add_ids(const scale_redis_url_t* url, const char* key,
                   const char* const* ids, int n, char* err,
                   size_t err_size, int* transient) {
  const char* argv[2 + SCALE_CANCEL_MAX_IDS];
  const char* expire[3] = {"PEXPIRE", key, CANCEL_TTL_MS};
  redisContext* c;
  redisReply* r;
  int i;

  c = scale_redis_sync_connect(url, 5000, err, err_size, transient);
  if (c == NULL)
    return -1;
  argv[0] = "SADD";
  argv[1] = key;
  for (i = 0; i < n; i++)
    argv[2 + i] = ids[i];
  r = scale_redis_sync_command(&c, url, key, 2 + n, argv, err, err_size,
                               transient);
  if (r != NULL) {
    freeReplyObject(r);
    r = scale_redis_sync_command(&c, url, key, 3, expire, err, err_size,
                                 transient);
  }
  if (r != NULL)
    freeReplyObject(r);
  if (c != NULL)
    redisFree(c);
  return r != NULL ? 0 : -1;
}


int scale_cancel(const char* redis, const char* stream,
                 const char* const* ids, int n, char* err, size_t err_size) {
  scale_redis_backoff_t backoff;
  scale_redis_url_t url;
  char url_err[512];
  char* key;
  uint64_t deadline;
  int rc = 0, transient = 0;

  if (redis == NULL || stream == NULL || stream[0] == '\0' || n < 1 ||
      n > SCALE_CANCEL_MAX_IDS) {
    snprintf(err, err_size, "--redis URL, --stream NAME and 1 to %d ids "
             "are required", SCALE_CANCEL_MAX_IDS);
    return CAPSID_EINVAL;
  }
  if (scale_redis_url_parse(redis, &url, url_err, sizeof(url_err)) != 0) {
    snprintf(err, err_size, "--redis: %s", url_err);
    return CAPSID_EINVAL;
  }
  key = capsid__sprintf("%s-cancel", stream);
  if (key == NULL) {
    scale_redis_url_free(&url);
    snprintf(err, err_size, "out of memory");
    return CAPSID_ENOMEM;
  }
  memset(&backoff, 0, sizeof(backoff));
  deadline = capsid__hrtime() / 1000000u + CANCEL_RETRY_MS;
  while (add_ids(&url, key, ids, n, err, err_size, &transient) != 0) {
    if (!transient || capsid__hrtime() / 1000000u >= deadline) {
      rc = CAPSID_EIO;
      break;
    }
    scale_redis_sync_sleep(
        scale_redis_backoff_failed(&backoff, "capsid cancel", err), deadline);
  }
  capsid__free(key);
  scale_redis_url_free(&url);
  return rc;
}
