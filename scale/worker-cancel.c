/* capsid cancel, on the worker's side: every second the set
 * "STREAM-cancel" is read (SMEMBERS; it is small and expires a week
 * after the last cancel), and the held jobs it names are answered:
 * running ones are killed (their exit answers them), ones waiting to
 * retry at once. Jobs taken later are checked before they start
 * (worker-entry.c). */
#include "worker-cancel.h"

#include "worker-entry.h"

#include <hiredis/hiredis.h>
#include <string.h>

#define POLL_MS 1000u


static void forget(worker_t* w) {
  size_t i;

  for (i = 0; i < w->ncancel; i++)
    capsid__free(w->cancel_ids[i]);
  capsid__free(w->cancel_ids);
  w->cancel_ids = NULL;
  w->ncancel = 0;
}


static void act(worker_t* w) {
  worker_job_t* j;
  worker_job_t* next;

  for (j = w->held.next; j != &w->held; j = next) {
    next = j->next;
    if (j->canceled || !worker_job_canceled(w, j))
      continue;
    if (j->state == WJ_RUNNING && j->job != NULL && !j->kill_sent) {
      j->canceled = 1;
      j->kill_sent = 1;
      capsid_job_kill(j->job);
    } else if (j->state == WJ_RETRY) {
      j->canceled = 1;
      worker_entry_cancel(j);
    }
  }
}


static void on_members(redisAsyncContext* ac, void* reply, void* priv) {
  worker_t* w = priv;
  redisReply* r = reply;
  size_t i;

  (void)ac;
  w->cancel_inflight = 0;
  if (r == NULL || r->type != REDIS_REPLY_ARRAY)
    return; /* tried again in a second */
  forget(w);
  w->cancel_known = 1;
  if (r->elements > 0) {
    w->cancel_ids = capsid__calloc(r->elements, sizeof(*w->cancel_ids));
    if (w->cancel_ids == NULL)
      return;
  }
  for (i = 0; i < r->elements; i++)
    if (r->element[i]->type == REDIS_REPLY_STRING &&
        (w->cancel_ids[w->ncancel] = capsid__strndup(
             r->element[i]->str, r->element[i]->len)) != NULL)
      w->ncancel++;
  act(w);
  worker_pump(w); /* the first read lets the worker take jobs */
}


void worker_cancel_poll(worker_t* w) {
  const char* argv[2];
  uint64_t now = worker_now_ms();

  if (w->cancel_inflight || now - w->last_cancel_ms < POLL_MS ||
      !scale_redis_conn_is_ready(w->wconn))
    return;
  w->last_cancel_ms = now;
  argv[0] = "SMEMBERS";
  argv[1] = w->cancel_key;
  if (scale_redis_conn_send(w->wconn, on_members, w, 2, argv, NULL) == 0)
    w->cancel_inflight = 1;
}


void worker_cancel_free(worker_t* w) {
  forget(w);
  capsid__free(w->cancel_key);
  w->cancel_key = NULL;
}
