/* The bottom of the worker engine: the held list and the two ways up to
 * the loop (worker-state.h says why they are hooks). */
#include "worker-state.h"

#include <string.h>

uint64_t worker_now_ms(void) {
  return capsid__hrtime() / 1000000u;
}


static int named(const worker_t* w, const char* id) {
  size_t i;

  for (i = 0; id != NULL && i < w->ncancel; i++)
    if (strcmp(w->cancel_ids[i], id) == 0)
      return 1;
  return 0;
}


int worker_job_canceled(const worker_t* w, const worker_job_t* j) {
  char num[32];

  if (w->ncancel == 0)
    return 0;
  if (named(w, j->entry.id) || named(w, j->entry.batch))
    return 1;
  if (!j->have_jl || j->jl.id == NULL)
    return 0;
  if (json_is_string(j->jl.id))
    return named(w, json_string_value(j->jl.id));
  if (json_is_integer(j->jl.id)) {
    snprintf(num, sizeof(num), "%lld",
             (long long)json_integer_value(j->jl.id));
    return named(w, num);
  }
  return 0;
}


unsigned worker_free_slots(const worker_t* w) {
  return w->running >= w->jobs ? 0 : w->jobs - w->running;
}


void worker_entry_free(worker_entry_t* e) {
  capsid__free(e->id);
  capsid__free(e->job);
  capsid__free(e->batch);
  memset(e, 0, sizeof(*e));
}


void worker_job_free(worker_job_t* j) {
  worker_t* w = j->w;
  int i, k;

  j->prev->next = j->next;
  j->next->prev = j->prev;
  w->held_count--;
  if (j->state == WJ_RUNNING)
    w->running--;
  for (i = 0; i < j->nadds; i++)
    for (k = 0; k < j->adds[i].nfields; k++)
      capsid__free(j->adds[i].fields[k]);
  if (j->have_jl)
    scale_jobline_free(&j->jl);
  worker_entry_free(&j->entry);
  capsid__free(j);
}


void worker_pump(worker_t* w) {
  w->pump_hook(w);
}


void worker_fatal(worker_t* w, const char* what) {
  w->fatal_hook(w, what);
}


unsigned worker_write_failed(worker_t* w, const char* what,
                             const char* error) {
  if (error != NULL && !scale_redis_reply_transient(error)) {
    worker_fatal(w, what);
    return 1000;
  }
  return scale_redis_backoff_failed(&w->write_backoff, "capsid worker", what);
}
