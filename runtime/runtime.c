/* The runtime: owns or borrows a loop, admits jobs up to the concurrency
 * limit in FIFO order, and shuts down in order. */
#include "runtime-int.h"
#include "job-submit.h"

#include "abi.h"

#include <string.h>

void capsid__list_init(capsid__list_t* l) {
  l->prev = l->next = l;
}


void capsid__list_push(capsid__list_t* head, capsid__list_t* l) {
  l->prev = head->prev;
  l->next = head;
  head->prev->next = l;
  head->prev = l;
}


void capsid__list_remove(capsid__list_t* l) {
  l->prev->next = l->next;
  l->next->prev = l->prev;
  l->prev = l->next = l;
}


int capsid__list_empty(const capsid__list_t* head) {
  return head->next == head;
}


#define JOB_OF(l) CAPSID__CONTAINER_OF(l, capsid_job_t, link)


int capsid_runtime_new(const capsid_runtime_options_t* caller_options,
                       capsid_runtime_t** out) {
  capsid_runtime_options_t full;
  const capsid_runtime_options_t* options = &full;
  capsid_runtime_t* rt;
  int rc;

  if (out == NULL)
    return CAPSID_EINVAL;
  *out = NULL;
  /* The caller's header may be older: read only what its size covers. */
  rc = capsid__abi_copy(&full, sizeof(full), caller_options,
                        CAPSID__RUNTIME_OPTIONS_SIZE_V1);
  if (rc != 0)
    return rc;
  rt = capsid__calloc(1, sizeof(*rt));
  if (rt == NULL)
    return CAPSID_ENOMEM;
  capsid__list_init(&rt->queued);
  capsid__list_init(&rt->active);
  if (options != NULL && options->loop != NULL) {
    rt->loop = options->loop;
  } else {
    rc = uv_loop_init(&rt->own_loop);
    if (rc != 0) {
      capsid__free(rt);
      return CAPSID_ENOMEM;
    }
    rt->loop = &rt->own_loop;
    rt->owns_loop = 1;
  }
  rt->max_concurrency = options ? options->max_concurrency : 0;
  if (rt->max_concurrency == 0)
    rt->max_concurrency = uv_available_parallelism();
  rt->worker_threads = options ? options->worker_threads : 0;
  uv_idle_init(rt->loop, &rt->kick);
  rt->kick.data = rt;
  /* Never what keeps the loop running: when nothing else does, what the
   * sandbox still keeps goes when the runtime closes. */
  uv_timer_init(rt->loop, &rt->idle);
  uv_unref((uv_handle_t*)&rt->idle);
  rt->idle.data = rt;
  *out = rt;
  return 0;
}


void* capsid_runtime_loop(capsid_runtime_t* rt) {
  return rt->loop;
}


unsigned capsid_runtime_queued(const capsid_runtime_t* rt) {
  return rt->n_queued;
}


unsigned capsid_runtime_running(const capsid_runtime_t* rt) {
  return rt->n_running;
}


/* Starts queued jobs while slots are free. */
static void admit(capsid_runtime_t* rt) {
  capsid_job_t* job;

  while (!rt->closing && rt->n_running < rt->max_concurrency &&
         !capsid__list_empty(&rt->queued)) {
    job = JOB_OF(rt->queued.next);
    capsid__list_remove(&job->link);
    rt->n_queued--;
    capsid__list_push(&rt->active, &job->link);
    rt->n_running++;
    job->counted = 1;
    capsid__job_run(job);
  }
}


static void kick_cb(uv_idle_t* idle) {
  capsid_runtime_t* rt = idle->data;

  uv_idle_stop(idle);
  rt->kick_active = 0;
  admit(rt);
}


/* Both entries: policy NULL parses spec->policy. */
static int job_start(capsid_runtime_t* rt, const capsid_job_spec_t* spec,
                     const capsid__policy_t* policy,
                     const capsid_error_t* policy_err,
                     capsid_exit_cb on_exit, void* data,
                     capsid_job_t** job_out) {
  capsid_job_spec_t full;
  capsid_job_t* job;
  int rc;

  if (job_out != NULL)
    *job_out = NULL;
  if (rt == NULL || spec == NULL || on_exit == NULL)
    return CAPSID_EINVAL;
  if (rt->closing)
    return CAPSID_ECLOSING;
  /* The caller's header may be older: read only what its size covers. */
  rc = capsid__abi_copy(&full, sizeof(full), spec, CAPSID__JOB_SPEC_SIZE_V1);
  if (rc != 0)
    return rc;
  rc = capsid__job_new(rt, &full, policy, policy_err, on_exit, data, &job);
  if (rc != 0)
    return rc;
  rt->n_jobs++;
  if (job_out != NULL)
    *job_out = job;
  if (job->result.error.code != 0) {
    /* Invalid spec: it takes no slot and completes on the next loop turn. */
    capsid__list_push(&rt->active, &job->link);
    job->state = JOB_RUNNING;
    capsid__job_abort(job, 0, NULL);
    return 0;
  }
  job->state = JOB_QUEUED;
  capsid__list_push(&rt->queued, &job->link);
  rt->n_queued++;
  admit(rt);
  return 0;
}


int capsid_job_start(capsid_runtime_t* rt, const capsid_job_spec_t* spec,
                     capsid_exit_cb on_exit, void* data,
                     capsid_job_t** job_out) {
  return job_start(rt, spec, NULL, NULL, on_exit, data, job_out);
}


int capsid__job_start_parsed(capsid_runtime_t* rt,
                             const capsid_job_spec_t* spec,
                             const capsid__policy_t* policy,
                             const capsid_error_t* policy_err,
                             capsid_exit_cb on_exit, void* data,
                             capsid_job_t** job_out) {
  if (policy == NULL) {
    if (job_out != NULL)
      *job_out = NULL;
    return CAPSID_EINVAL;
  }
  return job_start(rt, spec, policy, policy_err, on_exit, data, job_out);
}


static void runtime_free(capsid_runtime_t* rt);


/* What the sandbox keeps between jobs (capsid__sandbox_idle) goes once
 * unused this long: long enough for the next command of an agent that
 * runs them back to back, short enough that a placeholder of a protected
 * path is seldom seen in the workspace between commands. */
#define CAPSID__KEEP_MS 500

static void idle_cb(uv_timer_t* timer) {
  if (capsid__sandbox_idle(CAPSID__KEEP_MS) > 0)
    uv_timer_start(timer, idle_cb, CAPSID__KEEP_MS, 0);
}


void capsid__runtime_job_finished(capsid_runtime_t* rt, capsid_job_t* job) {
  capsid__list_remove(&job->link);
  if (job->counted) {
    job->counted = 0;
    rt->n_running--;
  }
  rt->n_jobs--;
  if (!rt->closing && !uv_is_active((uv_handle_t*)&rt->idle))
    uv_timer_start(&rt->idle, idle_cb, CAPSID__KEEP_MS, 0);
  if (rt->closing) {
    if (rt->n_jobs == 0)
      runtime_free(rt);
    return;
  }
  /* Start the next job from the loop, not from inside this job's
   * callbacks, so a long queue never deepens the stack. */
  if (!rt->kick_active && !capsid__list_empty(&rt->queued)) {
    rt->kick_active = 1;
    uv_idle_start(&rt->kick, kick_cb);
  }
}


int capsid_runtime_run(capsid_runtime_t* rt) {
  /* Jobs keep the loop alive through their handles; the kick idle handle
   * keeps it alive while queued jobs wait for a slot. */
  uv_run(rt->loop, UV_RUN_DEFAULT);
  return 0;
}


static void kick_closed(uv_handle_t* handle) {
  capsid_runtime_t* rt = handle->data;
  void (*cb)(void*) = rt->close_cb;
  void* data = rt->close_data;

  /* The last of the runtime's two handles frees it. */
  if (--rt->open_handles > 0)
    return;

  if (!rt->owns_loop) {
    capsid__free(rt);
    if (cb != NULL)
      cb(data);
  } else {
    /* Freed by capsid_runtime_close once the loop has stopped. */
    rt->closing = 2;
  }
}


/* Every job is gone: close the runtime's own handles. */
static void runtime_free(capsid_runtime_t* rt) {
  if (rt->pool != NULL) {
    capsid__pool_close(rt->pool);
    rt->pool = NULL;
  }
  uv_idle_stop(&rt->kick);
  rt->open_handles = 2;
  uv_close((uv_handle_t*)&rt->kick, kick_closed);
  uv_close((uv_handle_t*)&rt->idle, kick_closed);
  (void)capsid__sandbox_idle(0);
  capsid__sandbox_loop_closed(rt->loop);
}


void capsid_runtime_close(capsid_runtime_t* rt, void (*close_cb)(void* data),
                          void* data) {
  capsid__list_t* l;
  capsid__list_t* next;
  capsid_job_t* job;

  if (rt == NULL || rt->closing)
    return;
  rt->closing = 1;
  rt->close_cb = close_cb;
  rt->close_data = data;

  /* Queued jobs never run; running jobs are killed, tree and all. */
  while (!capsid__list_empty(&rt->queued)) {
    job = JOB_OF(rt->queued.next);
    capsid__list_remove(&job->link);
    rt->n_queued--;
    capsid__list_push(&rt->active, &job->link);
    job->state = JOB_RUNNING;
    capsid__job_abort(job, CAPSID_ECANCELED, "the runtime was closed");
  }
  for (l = rt->active.next; l != &rt->active; l = next) {
    next = l->next;
    capsid_job_kill(JOB_OF(l));
  }
  if (rt->n_jobs == 0)
    runtime_free(rt);

  if (rt->owns_loop) {
    uv_loop_t* loop = rt->loop;
    while (rt->closing != 2)
      uv_run(loop, UV_RUN_ONCE);
    /* Drain anything still closing, then release the loop. */
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    capsid__free(rt);
    if (close_cb != NULL)
      close_cb(data);
  }
}


capsid__pool_t* capsid__runtime_pool(capsid_runtime_t* rt) {
  if (rt->pool == NULL)
    capsid__pool_new(rt->loop, rt->worker_threads, &rt->pool);
  return rt->pool;
}


typedef struct {
  capsid_result_t* result;
} capture_ctx_t;


static void capture_exit(capsid_job_t* job, capsid_result_t* result,
                         void* data) {
  capture_ctx_t* ctx = data;

  (void)job;
  capsid_result_move(ctx->result, result);
}


int capsid_run_capture(const capsid_job_spec_t* spec,
                       capsid_result_t* result) {
  capsid_runtime_options_t opts;
  capsid_runtime_t* rt;
  capture_ctx_t ctx;
  int rc;

  if (spec == NULL || result == NULL)
    return CAPSID_EINVAL;
  memset(result, 0, sizeof(*result));
  memset(&opts, 0, sizeof(opts));
  opts.size = sizeof(opts);
  opts.max_concurrency = 1;
  opts.worker_threads = 1;
  rc = capsid_runtime_new(&opts, &rt);
  if (rc != 0)
    return capsid__error_set(&result->error, rc, CAPSID_STAGE_NONE, 0, NULL,
                             NULL, "cannot create a runtime");
  ctx.result = result;
  rc = capsid_job_start(rt, spec, capture_exit, &ctx, NULL);
  if (rc != 0)
    capsid__error_set(&result->error, rc, CAPSID_STAGE_NONE, 0, NULL, NULL,
                      "cannot start the job");
  else
    capsid_runtime_run(rt);
  capsid_runtime_close(rt, NULL, NULL);
  return result->error.code;
}
