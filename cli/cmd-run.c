/* capsid run: one job, output passed through or one JSON result. */
#include "cli.h"

#include "args.h"
#include "cli-log.h"
#include "client.h"
#include "passthru.h"
#include "resultline.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

enum {
  OPT_POLICY = 1, OPT_CWD, OPT_WRITABLE, OPT_READ_ONLY, OPT_NETWORK,
  OPT_TIMEOUT, OPT_MEMORY, OPT_MAXPROC, OPT_OUTPUT_LIMIT, OPT_ENV,
  OPT_CLEAR_ENV, OPT_MODE, OPT_JSON, OPT_STDIN_FILE, OPT_HELP, OPT_CPU,
  OPT_GRACE, OPT_SERVER
};

static const capsid__option_t run_options[] = {
    {'p', "policy", 1, OPT_POLICY},
    {'C', "cwd", 1, OPT_CWD},
    {'w', "writable-root", 1, OPT_WRITABLE},
    {'r', "read-only", 1, OPT_READ_ONLY},
    {'n', "network", 0, OPT_NETWORK},
    {'t', "timeout", 1, OPT_TIMEOUT},
    {'m', "memory-limit", 1, OPT_MEMORY},
    {0, "max-processes", 1, OPT_MAXPROC},
    {0, "cpu-limit", 1, OPT_CPU},
    {0, "output-limit", 1, OPT_OUTPUT_LIMIT},
    {'e', "env", 1, OPT_ENV},
    {0, "clear-env", 0, OPT_CLEAR_ENV},
    {0, "mode", 1, OPT_MODE},
    {0, "json", 0, OPT_JSON},
    {0, "stdin-file", 1, OPT_STDIN_FILE},
    {0, "grace", 1, OPT_GRACE},
    {0, "server", 1, OPT_SERVER},
    {'h', "help", 0, OPT_HELP},
    {0, NULL, 0, 0}};

typedef struct run_ctx_s {
  int json;
  cli_passthru_t pass;
  capsid_result_t result;
  int done;
  uv_signal_t sigint;
  uv_signal_t sigterm;
  uv_signal_t sighup;
  capsid_job_t* job;
  uint64_t grace_ms;
  int signals;      /* how many stop signals came */
} run_ctx_t;


int cli_parse_grace(const char* cmd, const char* value, uint64_t* ms) {
  if (capsid_parse_duration(value, ms) != 0 || *ms > 3600000u) {
    fprintf(stderr, "%s: --grace: \"%s\" is not a duration up to 1h, "
            "such as 5s, 500ms or 0\n", cmd, value);
    return -1;
  }
  return 0;
}


int cli_exit_status(const capsid_result_t* r) {
  switch (r->error.code) {
  case 0:
    break;
  case CAPSID_ENOTFOUND:
    return CLI_EXIT_NOTFOUND;
  case CAPSID_ENOEXEC:
    return CLI_EXIT_NOEXEC;
  default:
    return CLI_EXIT_CAPSID;
  }
  if (r->timed_out)
    return CLI_EXIT_TIMEOUT;
  if (r->signal != 0)
    return 128 + r->signal;
  return r->exit_code;
}


void cli_note_mode(capsid_mode_t requested, const capsid_result_t* r) {
  static int said;

  /* Once per process: a batch of a thousand jobs says it once. */
  if (said || requested != CAPSID_MODE_AUTO ||
      r->mode != CAPSID_MODE_LANDLOCK_ONLY)
    return;
  said = 1;
  fprintf(stderr, "capsid: user namespaces are blocked here, so --mode "
          "auto ran in landlock-only mode: protected paths (.git, "
          "carve-outs), private /tmp, hidden /run and the IPC namespace "
          "are not enforced (see `capsid doctor`; --mode unprivileged "
          "refuses to run instead)\n");
}


static void on_output(capsid_job_t* job, int stream, const char* bytes,
                      size_t len, void* data) {
  run_ctx_t* ctx = data;

  (void)job;
  if (!ctx->json)
    cli_passthru_write(&ctx->pass, stream, bytes, len);
}


static void close_signals(run_ctx_t* ctx) {
  uv_close((uv_handle_t*)&ctx->sigint, NULL);
  uv_close((uv_handle_t*)&ctx->sigterm, NULL);
  uv_close((uv_handle_t*)&ctx->sighup, NULL);
  /* Once the job is over, a late second signal must not replace its
   * status with capsid's own death. */
  if (ctx->signals > 0) {
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
  }
}


static void on_exit_cb(capsid_job_t* job, capsid_result_t* result,
                       void* data) {
  run_ctx_t* ctx = data;

  (void)job;
  cli_log_result("capsid run", "job", result);
  capsid_result_move(&ctx->result, result);
  ctx->done = 1;
  ctx->job = NULL;
  close_signals(ctx);
}


static void on_stage(const capsid__stage_event_t* ev, void* data) {
  (void)data;
  cli_log_stage("capsid run", "job", ev);
}


static void on_signal(uv_signal_t* handle, int signum) {
  run_ctx_t* ctx = handle->data;

  /* The job runs in its own session, so the terminal's ^C reaches only
   * capsid: pass it on to every process of the job, which has the grace
   * to clean up (a trap runs) before it is killed. A second signal kills
   * at once. */
  if (ctx->job == NULL)
    return;
  if (ctx->signals++ > 0) {
    capsid_job_kill(ctx->job);
    return;
  }
  capsid_job_signal(ctx->job,
                    signum == SIGINT   ? CAPSID_SIGINT
                    : signum == SIGHUP ? CAPSID_SIGHUP
                                       : CAPSID_SIGTERM,
                    ctx->grace_ms);
}


static int read_file(const char* path, char** data, size_t* len) {
  FILE* f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  capsid__buf_t b = {0};
  char chunk[65536];
  size_t n;

  if (f == NULL)
    return -1;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    if (capsid__buf_append(&b, chunk, n) != 0)
      break;
  if (f != stdin)
    fclose(f);
  *data = b.data;
  *len = b.len;
  return 0;
}


static int parse_mode(const char* s, capsid_mode_t* mode) {
  if (strcmp(s, "auto") == 0)
    *mode = CAPSID_MODE_AUTO;
  else if (strcmp(s, "elevated") == 0)
    *mode = CAPSID_MODE_ELEVATED;
  else if (strcmp(s, "unprivileged") == 0)
    *mode = CAPSID_MODE_UNPRIVILEGED;
  else
    return -1;
  return 0;
}


int cli_cmd_run(int argc, char** argv) {
  capsid__strv_t writable = {0}, read_only = {0}, env = {0};
  capsid_job_spec_t spec;
  capsid_runtime_t* rt = NULL;
  capsid_runtime_options_t opts;
  capsid__args_t a;
  run_ctx_t ctx;
  uint64_t n;
  char* stdin_data = NULL;
  size_t stdin_len = 0;
  const char* server = cli_client_env_addr();
  int opt, status = CLI_EXIT_CAPSID, rc;

  spec = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  memset(&ctx, 0, sizeof(ctx));
  ctx.grace_ms = CLI_DEFAULT_GRACE_MS;
  spec.network = -1;
  capsid__args_init(&a, "capsid run", argc, argv);
  while ((opt = capsid__args_next(&a, run_options)) > 0) {
    switch (opt) {
    case OPT_POLICY:
      spec.policy = a.value;
      break;
    case OPT_CWD:
      spec.cwd = a.value;
      break;
    case OPT_WRITABLE:
      capsid__strv_push(&writable, a.value);
      break;
    case OPT_READ_ONLY:
      capsid__strv_push(&read_only, a.value);
      break;
    case OPT_NETWORK:
      spec.network = 1;
      break;
    case OPT_TIMEOUT:
      if (capsid_parse_duration(a.value, &spec.timeout_ms) != 0) {
        fprintf(stderr, "capsid run: --timeout: \"%s\" is not a duration "
                "(examples: 500ms, 10s, 2m)\n", a.value);
        goto done;
      }
      break;
    case OPT_MEMORY:
      if (capsid_parse_size(a.value, &spec.memory_limit) != 0) {
        fprintf(stderr, "capsid run: --memory-limit: \"%s\" is not a size "
                "(examples: 64M, 2G)\n", a.value);
        goto done;
      }
      break;
    case OPT_MAXPROC:
      if (capsid__args_count(a.value, &n) != 0 || n > (1u << 22)) {
        fprintf(stderr, "capsid run: --max-processes: \"%s\" is not a "
                "number of processes\n", a.value);
        goto done;
      }
      spec.max_processes = (uint32_t)n;
      break;
    case OPT_CPU: {
      char* end = NULL;
      spec.cpu_limit = strtod(a.value, &end);
      if (end == a.value || *end != '\0' || !(spec.cpu_limit > 0) ||
          spec.cpu_limit > 4096) {
        fprintf(stderr, "capsid run: --cpu-limit: \"%s\" is not a number "
                "of CPUs (examples: 0.5, 2)\n", a.value);
        goto done;
      }
      break;
    }
    case OPT_OUTPUT_LIMIT:
      if (capsid_parse_size(a.value, &spec.output_limit) != 0 ||
          spec.output_limit == 0) {
        fprintf(stderr, "capsid run: --output-limit: \"%s\" is not a "
                "positive size (examples: 64k, 1M)\n", a.value);
        goto done;
      }
      ctx.pass.limit = spec.output_limit;
      break;
    case OPT_ENV:
      if (strchr(a.value, '=') == NULL || a.value[0] == '=') {
        fprintf(stderr, "capsid run: --env: \"%s\" must have the form "
                "NAME=VALUE\n", a.value);
        goto done;
      }
      capsid__strv_push(&env, a.value);
      break;
    case OPT_CLEAR_ENV:
      spec.env_mode = CAPSID_ENV_REPLACE;
      break;
    case OPT_MODE:
      if (parse_mode(a.value, &spec.mode) != 0) {
        fprintf(stderr, "capsid run: --mode: \"%s\" is not one of auto, "
                "elevated, unprivileged\n", a.value);
        goto done;
      }
      break;
    case OPT_JSON:
      ctx.json = 1;
      break;
    case OPT_GRACE:
      if (cli_parse_grace("capsid run", a.value, &ctx.grace_ms) != 0)
        goto done;
      break;
    case OPT_STDIN_FILE:
      if (read_file(a.value, &stdin_data, &stdin_len) != 0) {
        fprintf(stderr, "capsid run: --stdin-file: cannot read \"%s\": %s\n",
                a.value, strerror(errno));
        goto done;
      }
      break;
    case OPT_SERVER:
      server = a.value;
      break;
    case OPT_HELP:
      cli_help_run();
      status = 0;
      goto done;
    }
  }
  if (opt < 0) {
    status = CLI_EXIT_CAPSID;
    goto done;
  }
  if (a.index >= argc) {
    fprintf(stderr, "capsid run: no program given (usage: capsid run "
            "[options] [--] PROGRAM [ARG...])\n");
    goto done;
  }
  capsid__stage_hook_set(on_stage, NULL);
  spec.argv = (const char* const*)(argv + a.index);
  spec.writable_roots = (const char* const*)writable.v;
  spec.read_only_paths = (const char* const*)read_only.v;
  spec.env = (const char* const*)env.v;
  spec.stdin_data = stdin_data;
  spec.stdin_len = stdin_len;
  spec.on_output = on_output;
  cli_warn_shared_tmp(&spec);
  if (server != NULL) { /* thin client: the job runs in `capsid serve` */
    status = cli_client_run(server, &spec, ctx.json, ctx.grace_ms, &ctx.pass);
    goto done;
  }

  opts = (capsid_runtime_options_t)CAPSID_RUNTIME_OPTIONS_INIT;
  opts.max_concurrency = 1;
  /* 0: every core. The pool is the ACL engine's: a workspace's first
   * elevated job walks it on all of them (one thread took 2x as long). */
  opts.worker_threads = 0;
  rc = capsid_runtime_new(&opts, &rt);
  if (rc != 0) {
    fprintf(stderr, "capsid run: cannot start: %s\n", capsid_strerror(rc));
    goto done;
  }
  uv_signal_init(capsid_runtime_loop(rt), &ctx.sigint);
  uv_signal_init(capsid_runtime_loop(rt), &ctx.sigterm);
  uv_signal_init(capsid_runtime_loop(rt), &ctx.sighup);
  ctx.sigint.data = ctx.sigterm.data = ctx.sighup.data = &ctx;
  uv_signal_start(&ctx.sigint, on_signal, SIGINT);
  uv_signal_start(&ctx.sigterm, on_signal, SIGTERM);
  uv_signal_start(&ctx.sighup, on_signal, SIGHUP);
  rc = capsid_job_start(rt, &spec, on_exit_cb, &ctx, &ctx.job);
  if (rc != 0) {
    fprintf(stderr, "capsid run: %s\n", capsid_strerror(rc));
    close_signals(&ctx);
    goto done;
  }
  capsid_runtime_run(rt);

  cli_note_mode(spec.mode, &ctx.result);
  if (ctx.json) {
    scale_result_write_ex(stdout, NULL, 0, &ctx.result, NULL);
  } else if (ctx.result.error.code != 0) {
    char msg[2048];
    fprintf(stderr, "capsid: %s\n",
            capsid_error_format(&ctx.result.error, msg, sizeof(msg)));
  } else if (ctx.result.timed_out) {
    fprintf(stderr, "capsid: timed out after %llu ms; the job's processes "
            "were killed\n", (unsigned long long)spec.timeout_ms);
  } else if (ctx.result.oom) {
    /* Else a bare 137 is all the user sees. */
    fprintf(stderr, "capsid: the job went over its memory limit (%llu "
            "bytes) and was killed\n",
            (unsigned long long)spec.memory_limit);
  }
  cli_passthru_report(&ctx.pass);
  cli_denial_hint(&ctx.result);
  status = cli_exit_status(&ctx.result);

done:
  if (rt != NULL)
    capsid_runtime_close(rt, NULL, NULL);
  capsid__stage_hook_set(NULL, NULL);
  capsid_result_free(&ctx.result);
  capsid__strv_free(&writable);
  capsid__strv_free(&read_only);
  capsid__strv_free(&env);
  capsid__free(stdin_data);
  return status;
}
