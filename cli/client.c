/* The connection of a thin client to `capsid serve`, and the job object
 * it sends: the spec the local command parsed, in the batch-line format,
 * with everything that depends on the client's process made explicit
 * (absolute cwd, the full environment). */
#include "client.h"
#include "client-pipe.h"

#include "env.h"
#include "path.h"
#include "resultline.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SERVE_PREFIX "unix:"


static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf) {
  static char slab[65536];

  (void)h;
  (void)suggested;
  buf->base = slab;
  buf->len = sizeof(slab);
}


static void on_closed(uv_handle_t* h) {
  cli_client_t* c = h->data;

  c->on_event(c, NULL, NULL, 0);
}


void cli_client_close(cli_client_t* c) {
  if (c->closed)
    return;
  c->closed = 1;
  uv_close((uv_handle_t*)&c->pipe, on_closed);
}


static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  cli_client_t* c = s->data;
  size_t start = 0;
  char* nl;

  if (n < 0) {
    if (n != UV_EOF)
      c->err = (int)n;
    cli_client_close(c);
    return;
  }
  if (n == 0 || capsid__buf_append(&c->in, buf->base, (size_t)n) != 0)
    return;
  while (!c->closed && (nl = memchr(c->in.data + start, '\n',
                                    c->in.len - start)) != NULL) {
    size_t len = (size_t)(nl - (c->in.data + start));
    json_t* ev = json_loadb(c->in.data + start, len, JSON_ALLOW_NUL, NULL);
    if (ev != NULL) {
      c->on_event(c, ev, c->in.data + start, len);
      json_decref(ev);
    }
    start += len + 1;
  }
  memmove(c->in.data, c->in.data + start, c->in.len - start);
  c->in.len -= start;
}


static void on_connect(uv_connect_t* req, int status) {
  cli_client_t* c = req->data;

  if (status != 0) {
    c->err = status;
    cli_client_close(c);
    return;
  }
  c->connected = 1;
  uv_read_start((uv_stream_t*)&c->pipe, on_alloc, on_read);
}


const char* cli_client_env_addr(void) {
  const char* v = getenv("CAPSID_SERVER");

  return v != NULL && v[0] != '\0' ? v : NULL;
}


int cli_client_connect(cli_client_t* c, uv_loop_t* loop, const char* addr,
                       cli_client_event_cb on_event, void* data) {
  memset(c, 0, sizeof(*c));
  c->loop = loop;
  c->on_event = on_event;
  c->data = data;
  if (strncmp(addr, SERVE_PREFIX, strlen(SERVE_PREFIX)) != 0 ||
      addr[strlen(SERVE_PREFIX)] == '\0')
    return cli_client_open_pipe(c, addr, on_connect); /* pipe:NAME */
  uv_pipe_init(loop, &c->pipe, 0);
  c->pipe.data = c;
  c->connect.data = c;
  uv_pipe_connect(&c->connect, &c->pipe, addr + strlen(SERVE_PREFIX),
                  on_connect);
  return 0;
}


static void on_written(uv_write_t* req, int status) {
  (void)status; /* a broken connection shows up as the read's end */
  capsid__free(req);
}


int cli_client_send(cli_client_t* c, json_t* req) {
  uv_write_t* w;
  uv_buf_t buf;
  char* text;
  size_t len;

  json_object_set_new(req, "v", json_integer(1));
  text = json_dumps(req, JSON_COMPACT);
  json_decref(req);
  if (text == NULL || c->closed) {
    free(text);
    return -1;
  }
  len = strlen(text);
  w = capsid__malloc(sizeof(*w) + len + 1);
  if (w == NULL) {
    free(text);
    return -1;
  }
  memcpy((char*)(w + 1), text, len);
  ((char*)(w + 1))[len] = '\n';
  free(text);
  buf = uv_buf_init((char*)(w + 1), (unsigned)(len + 1));
  if (uv_write(w, (uv_stream_t*)&c->pipe, &buf, 1, on_written) != 0) {
    capsid__free(w);
    return -1;
  }
  return 0;
}


int cli_client_exit_result(const char* text, size_t len, const char** start,
                           size_t* n) {
  static const char key[] = ",\"result\":";
  const char* p = text;
  const char* end = text + len;

  /* {"v":1,"event":"exit","job":N,"result":RESULT} -- the server writes
   * exactly this, RESULT last. */
  if (len < 32 || memcmp(text, "{\"v\":1,\"event\":\"exit\",\"job\":", 28) != 0)
    return -1;
  p = text + 28;
  while (p < end && *p >= '0' && *p <= '9')
    p++;
  if ((size_t)(end - p) < sizeof(key) || memcmp(p, key, sizeof(key) - 1) != 0 ||
      end[-1] != '}')
    return -1;
  *start = p + sizeof(key) - 1;
  *n = (size_t)(end - 1 - *start);
  return 0;
}


static int mode_of(const char* name) {
  static const capsid_mode_t modes[] = {
      CAPSID_MODE_AUTO, CAPSID_MODE_ELEVATED, CAPSID_MODE_UNPRIVILEGED,
      CAPSID_MODE_NONE, CAPSID_MODE_LANDLOCK_ONLY};
  size_t i;

  for (i = 0; name != NULL && i < CAPSID__ARRAY_SIZE(modes); i++)
    if (strcmp(capsid_mode_name(modes[i]), name) == 0)
      return (int)modes[i];
  return CAPSID_MODE_NONE;
}


void cli_client_result_of(json_t* result, capsid_result_t* r) {
  json_t* err = json_object_get(result, "error");
  json_t* v;
  int code;

  memset(r, 0, sizeof(*r));
  r->exit_code = -1;
  if ((v = json_object_get(result, "exit_code")) != NULL && json_is_integer(v))
    r->exit_code = (int)json_integer_value(v);
  if ((v = json_object_get(result, "signal")) != NULL && json_is_integer(v))
    r->signal = (int)json_integer_value(v);
  r->timed_out = json_is_true(json_object_get(result, "timed_out"));
  r->oom = json_is_true(json_object_get(result, "oom"));
  r->killed = json_is_true(json_object_get(result, "killed"));
  r->interrupted = json_is_true(json_object_get(result, "interrupted"));
  v = json_object_get(result, "mode");
  r->mode = (capsid_mode_t)mode_of(json_is_string(v) ? json_string_value(v)
                                                     : NULL);
  if (!json_is_object(err))
    return;
  v = json_object_get(err, "code");
  r->error.code = CAPSID_EUNKNOWN;
  for (code = -1; code > CAPSID_ERRNO_MIN_ && json_is_string(v); code--)
    if (strcmp(capsid_err_name(code), json_string_value(v)) == 0)
      r->error.code = code;
  v = json_object_get(err, "message");
  /* The message is the whole formatted line already. */
  r->error.message = capsid__strdup(json_is_string(v) ? json_string_value(v)
                                                      : "unknown error");
}


json_t* cli_client_job_json(const capsid_job_spec_t* spec, json_t* id,
                            json_t* policy) {
  capsid__strv_t envp = {0};
  json_t* job = json_object();
  json_t* arr;
  json_t* env;
  char* cwd = NULL;
  char buf[4096];
  size_t bad = 0, i;

  if (id != NULL)
    json_object_set(job, "id", id);
  arr = json_array();
  for (i = 0; spec->argv != NULL && spec->argv[i] != NULL; i++)
    json_array_append_new(arr, json_string(spec->argv[i]));
  json_object_set_new(job, "argv", arr);
  /* The server does not share our working directory. */
  if (spec->cwd != NULL && (spec->cwd[0] == '\0' ||
                            capsid__path_is_absolute_written(spec->cwd)))
    cwd = capsid__strdup(spec->cwd);
  else if (getcwd(buf, sizeof(buf)) != NULL)
    cwd = spec->cwd == NULL || strcmp(spec->cwd, ".") == 0
              ? capsid__strdup(buf)
              : capsid__sprintf("%s/%s", buf, spec->cwd);
  if (cwd != NULL)
    json_object_set_new(job, "cwd", scale_json_path(cwd));
  capsid__free(cwd);
  if (policy != NULL)
    json_object_set(job, "policy", policy);
  else if (spec->policy != NULL)
    json_object_set_new(job, "policy", json_string(spec->policy));
  arr = json_array();
  for (i = 0; spec->writable_roots != NULL && spec->writable_roots[i]; i++)
    json_array_append_new(arr, scale_json_path(spec->writable_roots[i]));
  json_object_set_new(job, "writable_roots", arr);
  arr = json_array();
  for (i = 0; spec->read_only_paths != NULL && spec->read_only_paths[i]; i++)
    json_array_append_new(arr, scale_json_path(spec->read_only_paths[i]));
  json_object_set_new(job, "read_only_paths", arr);
  if (spec->network >= 0)
    json_object_set_new(job, "network", json_boolean(spec->network));
  /* The environment the local job would get: ours, not the server's. An
   * invalid entry is left for the server to name. */
  env = json_object();
  if (capsid__env_build(spec->env_mode, spec->env, &envp, &bad) == 0) {
    for (i = 0; i < envp.n; i++) {
      char* eq = strchr(envp.v[i], '=');
      json_t* value;
      if (eq == NULL || eq == envp.v[i])
        continue;
      value = json_string(eq + 1);
      *eq = '\0';
      if (value != NULL)
        json_object_set_new(env, envp.v[i], value);
      *eq = '=';
    }
    json_object_set_new(job, "env_mode", json_string("replace"));
  }
  json_object_set_new(job, "env", env);
  capsid__strv_free(&envp);
  if (spec->timeout_ms > 0)
    json_object_set_new(job, "timeout_ms", json_integer((json_int_t)spec->timeout_ms));
  if (spec->memory_limit > 0)
    json_object_set_new(job, "memory_limit",
                        json_integer((json_int_t)spec->memory_limit));
  if (spec->max_processes > 0)
    json_object_set_new(job, "max_processes", json_integer(spec->max_processes));
  if (spec->output_limit > 0)
    json_object_set_new(job, "output_limit",
                        json_integer((json_int_t)spec->output_limit));
  if (spec->cpu_limit > 0)
    json_object_set_new(job, "cpu_limit", json_real(spec->cpu_limit));
  json_object_set_new(job, "mode", json_string(capsid_mode_name(spec->mode)));
  return job;
}


json_t* cli_client_run_request(const capsid_job_spec_t* spec, json_t* id,
                               json_t* policy, long line, int stream) {
  json_t* req = json_object();

  json_object_set_new(req, "type", json_string("run"));
  json_object_set_new(req, "job", cli_client_job_json(spec, id, policy));
  if (line > 0)
    json_object_set_new(req, "line", json_integer(line));
  if (stream)
    json_object_set_new(req, "stream", json_true());
  /* Bytes, not text: base64 carries any. */
  if (spec->stdin_len > 0) {
    char* b64 = scale_base64(spec->stdin_data, spec->stdin_len);
    json_object_set_new(req, "stdin_b64", json_string(b64 ? b64 : ""));
    capsid__free(b64);
  }
  return req;
}
