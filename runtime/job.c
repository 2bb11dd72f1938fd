/* One job's state machine:
 *
 *   queued -> running (resolve, pipes, spawn, capture, timeout)
 *          -> main process exits: the rest of its tree is killed
 *          -> output drained to EOF (or the drain deadline passes)
 *          -> closing (every handle closed) -> callback -> freed
 *
 * A job that fails before it runs goes straight to closing, and its
 * callback still comes from the loop, never from inside capsid_job_start. */
#include "runtime-int.h"

#include "denials.h"
#include "env.h"
#include "path.h"

#include <string.h>

static void job_close_all(capsid_job_t* job);


static int fail(capsid_job_t* job, int code, int stage, const char* field,
                const char* message) {
  return capsid__error_set(&job->result.error, code, stage, 0, NULL, field,
                           "%s", message);
}


/* The spec's limits as one value; a spec's output limit of 0 means the
 * default, not none. */
static void limits_from_spec(capsid__limits_t* l,
                             const capsid_job_spec_t* spec) {
  l->memory = spec->memory_limit;
  l->processes = spec->max_processes;
  l->cpu = spec->cpu_limit;
  l->timeout_ms = spec->timeout_ms;
  l->output =
      spec->output_limit ? spec->output_limit : CAPSID_DEFAULT_OUTPUT_LIMIT;
}


/* The job's policy: parsed from the spec's text, or the caller's parsed
 * one (and its parse error). Fills the job's error on failure. */
static void job_policy(capsid_job_t* job, const capsid_job_spec_t* spec,
                       const capsid__policy_t* policy,
                       const capsid_error_t* policy_err) {
  capsid_error_t* err = &job->result.error;

  if (policy == NULL) {
    capsid__policy_parse(spec->policy, &job->policy, err);
  } else if (policy_err != NULL && policy_err->code != 0) {
    capsid__error_set(err, policy_err->code, policy_err->stage,
                      policy_err->os_error, policy_err->path,
                      policy_err->field, "%s",
                      policy_err->message ? policy_err->message : "");
  } else if (capsid__policy_copy(&job->policy, policy) != 0) {
    fail(job, CAPSID_ENOMEM, CAPSID_STAGE_POLICY, "policy", "out of memory");
  }
}


int capsid__job_new(capsid_runtime_t* rt, const capsid_job_spec_t* spec,
                    const capsid__policy_t* policy,
                    const capsid_error_t* policy_err,
                    capsid_exit_cb on_exit, void* data, capsid_job_t** out) {
  capsid_job_t* job;
  int rc = 0;

  *out = NULL;
  job = capsid__calloc(1, sizeof(*job));
  if (job == NULL)
    return CAPSID_ENOMEM;
  job->rt = rt;
  job->on_exit = on_exit;
  job->on_output = spec->on_output;
  job->data = data;
  job->env_mode = spec->env_mode;
  job->network = spec->network;
  job->mode = spec->mode;
  job->stdin_stream = spec->stdin_stream != 0;
  capsid__list_init(&job->stdin_held);
  limits_from_spec(&job->limits, spec);
  job->result.peak_memory = -1;
  job->result.mode = CAPSID_MODE_NONE;
  capsid__list_init(&job->link);

  rc = capsid__strv_copy(&job->argv, spec->argv);
  if (rc == 0)
    rc = capsid__strv_copy(&job->env_vars, spec->env);
  if (rc == 0)
    rc = capsid__strv_copy(&job->extra_writable, spec->writable_roots);
  if (rc == 0)
    rc = capsid__strv_copy(&job->extra_read_only, spec->read_only_paths);
  if (rc == 0 && spec->cwd != NULL && (job->cwd = capsid__strdup(spec->cwd)) == NULL)
    rc = CAPSID_ENOMEM;
  if (rc == 0 && spec->stdin_len > 0) {
    job->stdin_data = capsid__malloc(spec->stdin_len);
    if (job->stdin_data == NULL)
      rc = CAPSID_ENOMEM;
    else
      memcpy(job->stdin_data, spec->stdin_data, spec->stdin_len);
    job->stdin_len = spec->stdin_len;
  }
  if (rc != 0)
    goto fail;

  /* Spec errors are found here but reported through the callback, like
   * every other failure of a job. */
  if (job->argv.n == 0 || job->argv.v[0][0] == '\0')
    fail(job, CAPSID_ESPEC, CAPSID_STAGE_SPEC, "argv",
         "argv must name a program to run");
  else if (spec->mode > CAPSID_MODE_UNPRIVILEGED)
    fail(job, CAPSID_ESPEC, CAPSID_STAGE_SPEC, "mode",
         "mode must be auto, elevated or unprivileged");
  else if (spec->env_mode != CAPSID_ENV_INHERIT &&
           spec->env_mode != CAPSID_ENV_REPLACE)
    fail(job, CAPSID_ESPEC, CAPSID_STAGE_SPEC, "env_mode",
         "env_mode must be inherit or replace");
  else if (spec->network < -1 || spec->network > 1)
    fail(job, CAPSID_ESPEC, CAPSID_STAGE_SPEC, "network",
         "network must be -1, 0 or 1");
  else
    job_policy(job, spec, policy, policy_err);
  *out = job;
  return 0;

fail:
  capsid__strv_free(&job->argv);
  capsid__strv_free(&job->env_vars);
  capsid__strv_free(&job->extra_writable);
  capsid__strv_free(&job->extra_read_only);
  capsid__free(job->cwd);
  capsid__free(job->stdin_data);
  capsid__free(job);
  return rc;
}


static void job_free(capsid_job_t* job) {
  capsid__strv_free(&job->argv);
  capsid__strv_free(&job->env_vars);
  capsid__strv_free(&job->extra_writable);
  capsid__strv_free(&job->extra_read_only);
  capsid__strv_free(&job->envp);
  capsid__free(job->cwd);
  capsid__free(job->stdin_data);
  capsid__free(job->program);
  capsid__policy_free(&job->policy);
  capsid__prep_free(job->prep);
  capsid__sandbox_free(&job->sandbox);
  capsid_result_free(&job->result);
  capsid__free(job);
}


/* Everything is closed: hand the result to the caller and free the job. */
static void job_deliver(capsid_job_t* job);


/* The post-job work is done; its outcome does not change the result. */
static void postexit_done(void* data, int status, const capsid_error_t* err) {
  capsid_job_t* job = data;

  (void)err;
  capsid__stage_note(job->data, CAPSID__STAGE_POSTEXIT, job->stage_ns, status,
                     0);
  job_deliver(job);
}


/* The result's sandbox and denials (sandbox/denials.h); without memory
 * they stay NULL, which the result allows. */
static void job_report(capsid_job_t* job) {
  if (job->sandbox.cwd == NULL)
    return;
  job->result.sandbox = capsid__sandbox_json(&job->sandbox);
  if (job->proc_started)
    job->result.denials = capsid__denials_json(
        &job->sandbox, job->result.err.data, job->result.err.len);
}


static void job_complete(capsid_job_t* job) {
  capsid__capture_t* cap = &job->capture;

  if (!job->capture_live) {
    /* Never got as far as pipes: still give empty, valid outputs. */
    capsid__outbuf_init(&cap->out_buf, 0);
    capsid__outbuf_init(&cap->err_buf, 0);
  }
  if (capsid__capture_finish(cap, &job->result.out, &job->result.err) != 0 &&
      job->result.error.code == 0)
    fail(job, CAPSID_ENOMEM, CAPSID_STAGE_CAPTURE, NULL,
         "out of memory assembling the output");
  if (job->result.error.code != 0 && job->result.exit_code == 0 &&
      !job->exited)
    job->result.exit_code = -1;
  /* Before the result goes out, so a caller that reads the files next
   * finds them as the owner should (elevated mode's ACL fix-up), and so
   * the kernel's last reports of the job's refusals can come in (Linux:
   * waited for on the pool, not here on the loop). */
  job->stage_ns = capsid__hrtime();
  if (job->proc_started &&
      capsid__postexit(job->rt->loop, capsid__runtime_pool(job->rt),
                       &job->sandbox, job->result.mode, job->prep,
                       postexit_done, job) == 1)
    return;
  job_deliver(job);
}


static void job_deliver(capsid_job_t* job) {
  capsid_runtime_t* rt = job->rt;

  job_report(job);
  job->state = JOB_DONE;
  capsid__job_stdin_cancel(job);
  capsid__runtime_job_finished(rt, job);
  job->on_exit(job, &job->result, job->data);
  job_free(job);
}


static void one_closed(capsid_job_t* job) {
  if (--job->pending_closes == 0)
    job_complete(job);
}


static void timer_closed(uv_handle_t* handle) {
  one_closed(handle->data);
}


static void capture_closed(capsid__capture_t* cap) {
  one_closed(cap->data);
}


static void proc_closed(void* data) {
  one_closed(data);
}


static void job_close_all(capsid_job_t* job) {
  if (job->state == JOB_CLOSING || job->state == JOB_DONE)
    return;
  job->state = JOB_CLOSING;
  /* Count first, then close, so no close callback sees zero early. */
  job->pending_closes = 1 + job->timer_live + job->grace_live +
                        job->capture_live + (job->proc != NULL);
  if (job->timer_live) {
    uv_timer_stop(&job->timer);
    uv_close((uv_handle_t*)&job->timer, timer_closed);
  }
  if (job->grace_live) {
    uv_timer_stop(&job->grace);
    uv_close((uv_handle_t*)&job->grace, timer_closed);
  }
  if (job->proc != NULL)
    capsid__proc_close(job->proc, proc_closed, job);
  if (job->capture_live)
    capsid__capture_close(&job->capture);
  one_closed(job);
}


static void deferred_cb(uv_timer_t* timer) {
  job_close_all(timer->data);
}


static void timer_ensure(capsid_job_t* job) {
  if (job->timer_live)
    return;
  uv_timer_init(job->rt->loop, &job->timer);
  job->timer.data = job;
  job->timer_live = 1;
}


/* Completes the job from the loop rather than from the caller's stack. */
static void job_finish_later(capsid_job_t* job) {
  timer_ensure(job);
  uv_timer_start(&job->timer, deferred_cb, 0, 0);
}


void capsid__job_abort(capsid_job_t* job, int code, const char* why) {
  if (code != 0 && job->result.error.code == 0)
    fail(job, code, CAPSID_STAGE_NONE, NULL, why);
  if (code == CAPSID_ECANCELED)
    job->result.killed = 1;
  job_finish_later(job);
}


static void timeout_cb(uv_timer_t* timer) {
  capsid_job_t* job = timer->data;

  job->result.timed_out = 1;
  if (job->proc != NULL)
    capsid__proc_kill(job->proc);
}


static void drain_deadline_cb(uv_timer_t* timer) {
  job_close_all(timer->data);
}


static void on_exit_status(capsid__proc_t* proc, const capsid__exit_t* st,
                           void* data) {
  capsid_job_t* job = data;
  uint64_t now = capsid__hrtime();

  (void)proc;
  job->exited = 1;
  job->result.exit_code = st->exit_code;
  job->result.signal = st->signal;
  job->result.oom = st->oom;
  job->result.user_cpu_ms = st->user_cpu_ms;
  job->result.sys_cpu_ms = st->sys_cpu_ms;
  job->result.peak_memory = st->peak_memory;
  job->result.limits = st->limits;
  job->result.pids_limited = st->pids_limited;
  job->result.wall_ms = (double)(now - job->start_ns) / 1e6;
  capsid__stage_note(job->data, CAPSID__STAGE_EXIT, job->start_ns, 0, 0);
  /* Kill-on-close, as a job object does: whatever the main process left
   * running in its tree goes with it, so nothing outlives the job. */
  capsid__proc_kill(job->proc);
  if (job->capture.eof_out && job->capture.eof_err) {
    job_close_all(job);
    return;
  }
  timer_ensure(job);
  uv_timer_stop(&job->timer);
  uv_timer_start(&job->timer, drain_deadline_cb, CAPSID__DRAIN_MS, 0);
}


static void on_capture_eof(capsid__capture_t* cap) {
  capsid_job_t* job = cap->data;

  if (job->exited)
    job_close_all(job);
}


static void on_capture_data(capsid__capture_t* cap, int stream,
                            const char* bytes, size_t len) {
  capsid_job_t* job = cap->data;

  if (job->on_output != NULL)
    job->on_output(job, stream, bytes, len, job->data);
}


/* Resolves what the job may do and what it runs. Returns 0 or fills the
 * job's error. */
static int job_prepare(capsid_job_t* job) {
  capsid__resolve_in_t in;
  size_t bad = 0, i;
  char field[32];
  int rc;

  if (job->result.error.code != 0)
    return job->result.error.code;
  rc = capsid__env_build(job->env_mode, (const char* const*)job->env_vars.v,
                         &job->envp, &bad);
  if (rc == CAPSID_EINVAL) {
    snprintf(field, sizeof(field), "env[%zu]", bad);
    return capsid__error_set(&job->result.error, CAPSID_ESPEC,
                             CAPSID_STAGE_SPEC, 0, NULL, field,
                             "%s must have the form NAME=VALUE", field);
  }
  if (rc != 0)
    return fail(job, rc, CAPSID_STAGE_SPEC, "env", "cannot build env");

  memset(&in, 0, sizeof(in));
  in.cwd = job->cwd;
  in.extra_writable = (const char* const*)job->extra_writable.v;
  in.extra_read_only = (const char* const*)job->extra_read_only.v;
  in.network = job->network;
  for (i = 0; i < CAPSID__ARRAY_SIZE(in.tmpdirs) &&
              capsid__tmp_env_names[i] != NULL;
       i++)
    in.tmpdirs[i] = capsid__env_get(&job->envp, capsid__tmp_env_names[i]);
  rc = capsid__sandbox_resolve(&job->policy, &in, &job->sandbox,
                               &job->result.error);
  if (rc != 0)
    return rc;
  return capsid__proc_resolve(job->argv.v[0],
                              capsid__env_get(&job->envp, "PATH"),
                              job->sandbox.cwd, &job->program,
                              &job->result.error);
}


static void job_launch(capsid_job_t* job);


/* The wait before launch is over (elevated mode: the workspace's grants
 * are in place, or could not be put there). */
static void prelaunch_done(void* data, int status, const capsid_error_t* err) {
  capsid_job_t* job = data;

  job->prelaunching = 0;
  if (job->result.killed) {
    fail(job, CAPSID_ECANCELED, CAPSID_STAGE_NONE, NULL,
         "killed before it started");
    job_finish_later(job);
    return;
  }
  if (status != 0) {
    if (err != NULL && err->code != 0)
      capsid__error_set(&job->result.error, err->code, err->stage,
                        err->os_error, err->path, err->field, "%s",
                        err->message ? err->message : "");
    else
      fail(job, status, CAPSID_STAGE_ACL, NULL, "cannot grant the workspace");
    job_finish_later(job);
    return;
  }
  job_launch(job);
}


void capsid__job_run(capsid_job_t* job) {
  uint64_t t0 = capsid__hrtime();
  int rc;

  job->state = JOB_RUNNING;
  rc = job_prepare(job);
  capsid__stage_note(job->data, CAPSID__STAGE_RESOLVE, t0, rc, 0);
  job->stage_ns = capsid__hrtime();
  if (rc != 0) {
    job_finish_later(job);
    return;
  }
  rc = capsid__prelaunch(job->rt->loop, capsid__runtime_pool(job->rt),
                         &job->sandbox, &job->mode, &job->prep,
                         prelaunch_done, job, &job->result.error);
  if (rc < 0) {
    job_finish_later(job);
    return;
  }
  if (rc == 1) {
    job->prelaunching = 1; /* prelaunch_done continues */
    return;
  }
  job_launch(job);
}


/* Does dir hold a repository's .git: a worktree's .git file, or a
 * directory with a HEAD? An empty .git directory is not one: capsid puts
 * exactly that (a placeholder) into a workspace that has none, and git's
 * own discovery walks past it too. -1: out of memory. */
static int git_holds_repo(const char* dir, size_t root) {
  const char* sep = strlen(dir) > root ? "/" : "";
  char* git = capsid__sprintf("%s%s.git", dir, sep);
  char* head = capsid__sprintf("%s%s.git/HEAD", dir, sep);
  int os_error = 0, rc = -1;

  if (git != NULL && head != NULL)
    rc = capsid__path_exists(head) ||
         (capsid__path_exists(git) && capsid__path_is_dir(git, &os_error) == 0);
  capsid__free(git);
  capsid__free(head);
  return rc;
}


/* The repository holding dir: the nearest of dir and its parents that
 * holds one, else dir itself. */
static char* git_repo_root(const char* dir) {
  char* p = capsid__strdup(dir);
  char* slash;
  size_t root;
  int found;

  if (p == NULL)
    return NULL;
  root = capsid__path_root_len(p);
  while ((found = git_holds_repo(p, root)) == 0) {
    slash = strrchr(p, '/');
    if (strlen(p) <= root || slash == NULL) {
      capsid__free(p);
      return capsid__strdup(dir);
    }
    /* "/a" -> "/", "C:/a" -> "C:/" */
    slash[(size_t)(slash - p) + 1 <= root ? 1 : 0] = '\0';
  }
  if (found < 0) {
    capsid__free(p);
    return NULL;
  }
  return p;
}


/* A job under its workspace's own identity works in a tree the real
 * owner owns: git would refuse it as "dubious ownership". Trust the
 * repository the job works in for this job only, unless the caller
 * configures git through the environment already. git compares
 * safe.directory with the repository's top level (the directory holding
 * .git), not with the cwd: a job started in a subdirectory of the
 * repository needs the root named. */
static int git_trust_repo(capsid_job_t* job) {
  char* root;
  int rc;

  if (capsid__env_get(&job->envp, "GIT_CONFIG_COUNT") != NULL)
    return 0;
  root = git_repo_root(job->sandbox.cwd);
  rc = root == NULL ||
       capsid__env_set(&job->envp, "GIT_CONFIG_COUNT", "1") != 0 ||
       capsid__env_set(&job->envp, "GIT_CONFIG_KEY_0", "safe.directory") !=
           0 ||
       capsid__env_set(&job->envp, "GIT_CONFIG_VALUE_0", root) != 0;
  capsid__free(root);
  return rc;
}


static void job_launch(capsid_job_t* job) {
  capsid__launch_t launch;
  capsid_mode_t mode = CAPSID_MODE_NONE;
  uv_timeval64_t now;
  int rc;

  capsid__stage_note(job->data, CAPSID__STAGE_PRELAUNCH, job->stage_ns, 0, 0);
  if (job->mode == CAPSID_MODE_ELEVATED && git_trust_repo(job) != 0) {
    fail(job, CAPSID_ENOMEM, CAPSID_STAGE_SPEC, "env", "out of memory");
    job_finish_later(job);
    return;
  }

  rc = capsid__capture_init(&job->capture, job->rt->loop,
                            job->limits.output,
                            job->stdin_data, job->stdin_len,
                            job->rt->read_buf, sizeof(job->rt->read_buf),
                            &job->result.error);
  job->capture.data = job;
  job->capture.on_data = on_capture_data;
  job->capture.on_eof = on_capture_eof;
  job->capture.on_closed = capture_closed;
  job->capture.stdin_open = job->stdin_stream;
  job->capture.on_stdin_written = capsid__job_stdin_written;
  job->capture_live = 1;
  if (rc != 0) {
    job_finish_later(job);
    return;
  }

  memset(&launch, 0, sizeof(launch));
  launch.path = job->program;
  launch.argv = job->argv.v;
  launch.envp = job->envp.v;
  launch.cwd = job->sandbox.cwd;
  memcpy(launch.child_stdio, job->capture.child_stdio,
         sizeof(launch.child_stdio));
  launch.sandbox = &job->sandbox;
  launch.mode = job->mode;
  launch.limits = job->limits;
  launch.prep = job->prep;

  job->start_ns = capsid__hrtime();
  if (uv_gettimeofday(&now) == 0)
    job->result.started_at_us = now.tv_sec * 1000000 + now.tv_usec;
  rc = capsid__proc_spawn(job->rt->loop, &launch, on_exit_status, job,
                          &job->proc, &mode, &job->result.error);
  job->result.pid = rc == 0 ? capsid__proc_pid(job->proc) : 0;
  capsid__stage_note(job->data, CAPSID__STAGE_SPAWN, job->start_ns, rc,
                     job->result.pid);
  if (rc != 0) {
    job_finish_later(job);
    return;
  }
  job->result.mode = mode;
  job->proc_started = 1;
  capsid__capture_start(&job->capture);
  capsid__job_stdin_flush(job);
  if (job->limits.timeout_ms > 0) {
    timer_ensure(job);
    uv_timer_start(&job->timer, timeout_cb, job->limits.timeout_ms, 0);
  }
  if (job->on_spawn != NULL)
    job->on_spawn(job, job->result.pid, mode, job->data);
}


int capsid_job_kill(capsid_job_t* job) {
  if (job == NULL)
    return CAPSID_EINVAL;
  if (job->state == JOB_QUEUED) {
    capsid__list_remove(&job->link);
    job->rt->n_queued--;
    capsid__list_push(&job->rt->active, &job->link);
    job->state = JOB_RUNNING;
    capsid__job_abort(job, CAPSID_ECANCELED, "killed before it started");
    return 0;
  }
  if (job->state == JOB_RUNNING && job->proc != NULL && !job->exited) {
    job->result.killed = 1;
    capsid__proc_kill(job->proc);
  }
  if (job->state == JOB_RUNNING && job->prelaunching)
    job->result.killed = 1; /* prelaunch_done ends it */
  return 0;
}


static void grace_cb(uv_timer_t* timer) {
  capsid_job_t* job = timer->data;

  capsid_job_kill(job);
}


int capsid_job_signal(capsid_job_t* job, int sig, uint64_t grace_ms) {
  if (job == NULL ||
      (sig != CAPSID_SIGTERM && sig != CAPSID_SIGINT && sig != CAPSID_SIGHUP))
    return CAPSID_EINVAL;
  /* Queued or waiting for its grants: nothing to ask, it ends now, as
   * capsid_job_kill ends it. Ended or failing: its result is on the way. */
  if (job->state == JOB_QUEUED ||
      (job->state == JOB_RUNNING && job->prelaunching)) {
    job->result.interrupted = 1;
    return capsid_job_kill(job);
  }
  if (job->state != JOB_RUNNING || job->proc == NULL || job->exited)
    return 0;
  job->result.interrupted = 1;
  if (grace_ms == 0)
    return capsid_job_kill(job);
  /* Where no signal reaches the job (Windows), it still has its grace to
   * end by itself before it is killed. */
  (void)capsid__proc_signal(job->proc, sig);
  if (!job->grace_live) {
    uv_timer_init(job->rt->loop, &job->grace);
    job->grace.data = job;
    job->grace_live = 1;
  } else if (uv_is_active((uv_handle_t*)&job->grace) &&
             uv_timer_get_due_in(&job->grace) <= grace_ms) {
    return 0;
  }
  uv_timer_start(&job->grace, grace_cb, grace_ms, 0);
  return 0;
}


void* capsid_job_data(const capsid_job_t* job) {
  return job->data;
}


void capsid_result_free(capsid_result_t* result) {
  if (result == NULL)
    return;
  capsid__free(result->out.data);
  capsid__free(result->err.data);
  capsid__free(result->sandbox);
  capsid__free(result->denials);
  capsid__error_free(&result->error);
  memset(result, 0, sizeof(*result));
}


void capsid_result_move(capsid_result_t* dst, capsid_result_t* src) {
  *dst = *src;
  memset(src, 0, sizeof(*src));
}
