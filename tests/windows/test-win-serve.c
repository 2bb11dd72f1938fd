/* capsid serve on Windows: the named pipe, its DACL read back, the
 * client's identity from the pipe's token, the protocol end to end (ping,
 * status, a job whose output equals a local run's, cancel, a malformed
 * request), paths checked with the client's token, and shutdown by the
 * owner. The server runs in this process on a thread of its own; the
 * client side is plain Win32 (CreateFileW, ReadFile, WriteFile), as any
 * client would be.
 *
 * Wine keeps one user for everything and does not enforce DACLs on
 * opens, so a second user being refused is in windows-smoke.ps1; here
 * the path checks here use a directory whose DACL denies this user
 * write.
 *
 * With "--send PIPE LINE" this program is a one-shot client instead: it
 * sends LINE, prints the first event and exits 0 unless that event is an
 * error (scripts/test-windows.sh stops capsid.exe serve with it).
 *
 * `capsid serve --stdio` on Windows: a parent (Python's subprocess, a
 * .NET Process, an agent) gives the server anonymous pipes from
 * CreatePipe, which is what test_stdio and "--stdio-client" do. A Unix
 * shell's pipe under Wine is no Windows pipe (nor is a pipe of Wine's
 * cmd, a temporary file), so scripts/test-windows.sh drives capsid.exe
 * through "--stdio-client EXE LINE...": it starts "EXE serve --stdio",
 * sends the lines, prints the events until each request is answered,
 * ends the server's input and prints its exit status. */
#include "wintest-util.h"

#include "serve-win.h"
#include "path.h"
#include "verify-win.h"
#include "win-util.h"

#include <aclapi.h>
#include <jansson.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct conn_s {
  HANDLE h;
  char* buf;
  size_t len;
  size_t cap;
} conn_t;

typedef struct srv_s {
  serve_options_t opt;
  HANDLE thread;
  int rc;
} srv_t;

static char* pipe_name;      /* this run's \\.\pipe\... */
static srv_t main_srv;       /* the server of the whole group */


static DWORD WINAPI server_main(void* arg) {
  srv_t* s = arg;

  s->rc = serve_run(&s->opt);
  return 0;
}


/* Options of a quiet test server on name; change them, then start. */
static void server_init(srv_t* s, const char* name) {
  memset(s, 0, sizeof(*s));
  s->opt.socket_path = name;
  s->opt.listen_fd = -1;
  s->opt.socket_mode = -1;
  s->opt.grace_ms = 2000;
  s->opt.jobs = 2;
  s->opt.quiet = 1;
  s->rc = -1;
}


static int server_start(srv_t* s) {
  s->thread = CreateThread(NULL, 0, server_main, s, 0, NULL);
  return s->thread != NULL ? 0 : -1;
}


/* Waits for serve_run to return; its code. */
static int server_join(srv_t* s) {
  assert_int_equal(WaitForSingleObject(s->thread, 30000), WAIT_OBJECT_0);
  CloseHandle(s->thread);
  s->thread = NULL;
  return s->rc;
}


/* Opens path as a client (waiting for the server to listen), with the
 * calling thread's token. */
static int conn_open(conn_t* c, const char* path) {
  WCHAR* wide = capsid__utf16(path);
  int tries;

  memset(c, 0, sizeof(*c));
  c->h = INVALID_HANDLE_VALUE;
  for (tries = 0; tries < 300 && c->h == INVALID_HANDLE_VALUE; tries++) {
    c->h = CreateFileW(wide, SERVE_PIPE_CLIENT_ACCESS, 0, NULL,
                       OPEN_EXISTING, 0, NULL);
    if (c->h == INVALID_HANDLE_VALUE &&
        !(GetLastError() == ERROR_PIPE_BUSY && WaitNamedPipeW(wide, 1000)))
      Sleep(100);
  }
  capsid__free(wide);
  return c->h == INVALID_HANDLE_VALUE ? -1 : 0;
}


static void conn_close(conn_t* c) {
  if (c->h != INVALID_HANDLE_VALUE)
    CloseHandle(c->h);
  c->h = INVALID_HANDLE_VALUE;
  free(c->buf);
  c->buf = NULL;
}


static int conn_send(conn_t* c, const char* line) {
  DWORD n;
  char* text = capsid__sprintf("%s\n", line);
  BOOL ok = WriteFile(c->h, text, (DWORD)strlen(text), &n, NULL);

  capsid__free(text);
  return ok ? 0 : -1;
}


/* The next event line, parsed; NULL when the connection ended. */
static json_t* conn_event(conn_t* c, char** line) {
  char* nl;
  DWORD n;
  json_t* ev;

  while ((nl = c->len ? memchr(c->buf, '\n', c->len) : NULL) == NULL) {
    if (c->cap - c->len < 65536) {
      c->cap = c->cap * 2 + 65536;
      c->buf = realloc(c->buf, c->cap);
      if (c->buf == NULL)
        return NULL;
    }
    if (!ReadFile(c->h, c->buf + c->len, 65536, &n, NULL) || n == 0)
      return NULL;
    c->len += n;
  }
  ev = json_loadb(c->buf, (size_t)(nl - c->buf), 0, NULL);
  if (line != NULL)
    *line = capsid__strndup(c->buf, (size_t)(nl - c->buf));
  c->len -= (size_t)(nl - c->buf) + 1;
  memmove(c->buf, nl + 1, c->len);
  return ev;
}


/* Reads events until one named name; the others are dropped. */
static json_t* conn_wait(conn_t* c, const char* name) {
  json_t* ev;

  while ((ev = conn_event(c, NULL)) != NULL) {
    const char* got = json_string_value(json_object_get(ev, "event"));
    if (got != NULL && strcmp(got, name) == 0)
      return ev;
    if (got != NULL && strcmp(got, "error") == 0)
      print_message("error event: %s\n",
                    json_string_value(json_object_get(ev, "message")));
    json_decref(ev);
  }
  fail_msg("the connection ended before a \"%s\" event", name);
  return NULL;
}


/* Sends line and waits for the event named event. */
static json_t* ask(conn_t* c, const char* line, const char* event) {
  assert_int_equal(conn_send(c, line), 0);
  return conn_wait(c, event);
}


static void connect_ok(conn_t* c) {
  assert_int_equal(conn_open(c, pipe_name), 0);
}


/* Sends a run request for job (a JSON object's text) and returns its
 * exit event's result (owned by the returned event). */
static json_t* run_job(conn_t* c, const char* job, json_t** exit_ev) {
  char* req = capsid__sprintf("{\"v\":1,\"type\":\"run\",\"job\":%s}", job);
  json_t* ev;

  assert_int_equal(conn_send(c, req), 0);
  capsid__free(req);
  ev = conn_wait(c, "accepted");
  json_decref(ev);
  *exit_ev = conn_wait(c, "exit");
  return json_object_get(*exit_ev, "result");
}


/* {"argv":[child, args...],"cwd":cwd, ...extra} */
static char* job_text(const char* cwd, const char* extra,
                      const char* const* args) {
  json_t* job = json_object();
  json_t* argv = json_array();
  char* text;
  char* out;

  json_array_append_new(argv, json_string(wt_child()));
  for (; *args != NULL; args++)
    json_array_append_new(argv, json_string(*args));
  json_object_set_new(job, "argv", argv);
  json_object_set_new(job, "cwd", json_string(cwd));
  text = json_dumps(job, JSON_COMPACT);
  json_decref(job);
  /* extra members go in before the closing brace */
  out = extra != NULL ? capsid__sprintf("%.*s,%s}", (int)strlen(text) - 1,
                                        text, extra)
                      : capsid__strdup(text);
  free(text);
  return out;
}


static int group_setup(void** state) {
  if (wt_jobs_setup(state) != 0)
    return -1;
  pipe_name = capsid__sprintf("\\\\.\\pipe\\capsid-wintest-%lu",
                              (unsigned long)GetCurrentProcessId());
  server_init(&main_srv, pipe_name);
  return server_start(&main_srv);
}


static int group_teardown(void** state) {
  if (main_srv.thread != NULL) {
    /* a test failed before the shutdown test: stop it anyway */
    conn_t c;
    if (conn_open(&c, pipe_name) == 0)
      conn_send(&c, "{\"v\":1,\"type\":\"shutdown\"}");
    WaitForSingleObject(main_srv.thread, 30000);
    CloseHandle(main_srv.thread);
    conn_close(&c);
  }
  capsid__free(pipe_name);
  return wt_jobs_teardown(state);
}


/* ------------------------------------------------------------------------ */

/* This process's user SID as text; LocalFree it. */
static char* my_sid(void) {
  TOKEN_USER* user;
  HANDLE token;
  DWORD len = 0;
  char* text;

  assert_true(OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token));
  GetTokenInformation(token, TokenUser, NULL, 0, &len);
  user = capsid__malloc(len);
  assert_true(GetTokenInformation(token, TokenUser, user, len, &len));
  assert_true(ConvertSidToStringSidA(user->User.Sid, &text));
  capsid__free(user);
  CloseHandle(token);
  return text;
}


/* The pipe's DACL, read back through a client's handle: NETWORK denied
 * first, the server's user, nobody else (no Everyone), nothing
 * inherited. Read from the seventh connection, past the four instances
 * libuv creates at first: the descriptor belongs to the pipe. */
static void test_pipe_dacl(void** state) {
  conn_t c[7];
  PSECURITY_DESCRIPTOR sd = NULL;
  SECURITY_DESCRIPTOR_CONTROL control;
  DWORD revision;
  ACL* dacl = NULL;
  char* me = my_sid();
  int i;

  (void)state;
  for (i = 0; i < 7; i++)
    connect_ok(&c[i]);
  assert_int_equal(GetSecurityInfo(c[6].h, SE_KERNEL_OBJECT,
                                   DACL_SECURITY_INFORMATION, NULL, NULL,
                                   &dacl, NULL, &sd),
                   ERROR_SUCCESS);
  assert_non_null(dacl);
  assert_true(GetSecurityDescriptorControl(sd, &control, &revision));
  /* (Wine does not keep the flag of a kernel object's DACL) */
  if (wt_enforcing())
    assert_true(control & SE_DACL_PROTECTED);
  assert_int_equal(dacl->AceCount, 2);
  wt_expect_ace(dacl, 0, ACCESS_DENIED_ACE_TYPE, 0, FILE_ALL_ACCESS,
                "S-1-5-2");
  wt_expect_ace(dacl, 1, ACCESS_ALLOWED_ACE_TYPE, 0, FILE_ALL_ACCESS, me);
  LocalFree(me);
  LocalFree(sd);
  for (i = 0; i < 7; i++)
    conn_close(&c[i]);
}


/* --allow-group adds the group with the client's rights only: read and
 * write of requests, never FILE_CREATE_PIPE_INSTANCE (a second server
 * squatting the name). --socket-mode has no meaning for a pipe, a file
 * path is none, and a name in use is refused. */
static void test_pipe_dacl_allowed(void** state) {
  PSECURITY_DESCRIPTOR sd = NULL;
  ACL* dacl = NULL;
  uint32_t users;
  srv_t s;
  conn_t c;
  json_t* ev;
  char* name = capsid__sprintf("%s-allow", pipe_name);

  (void)state;
  assert_int_equal(serve_group_id("S-1-5-32-545", &users), 0);
  server_init(&s, name);
  s.opt.allow_gids = &users;
  s.opt.n_allow_gids = 1;
  assert_int_equal(server_start(&s), 0);
  assert_int_equal(conn_open(&c, name), 0);
  assert_int_equal(GetSecurityInfo(c.h, SE_KERNEL_OBJECT,
                                   DACL_SECURITY_INFORMATION, NULL, NULL,
                                   &dacl, NULL, &sd),
                   ERROR_SUCCESS);
  assert_int_equal(dacl->AceCount, 3);
  wt_expect_ace(dacl, 2, ACCESS_ALLOWED_ACE_TYPE, 0, SERVE_PIPE_CLIENT_ACCESS,
                "S-1-5-32-545");
  assert_false(SERVE_PIPE_CLIENT_ACCESS & FILE_CREATE_PIPE_INSTANCE);
  LocalFree(sd);
  ev = ask(&c, "{\"v\":1,\"type\":\"shutdown\"}", "ok");
  json_decref(ev);
  conn_close(&c);
  assert_int_equal(server_join(&s), 0);

  /* A Unix socket's mode bits are refused, never ignored. */
  server_init(&s, name);
  s.opt.socket_mode = 0600;
  assert_int_equal(server_start(&s), 0);
  assert_int_equal(server_join(&s), CAPSID_EINVAL);
  /* And a file path is no pipe. */
  server_init(&s, "C:/capsid.sock");
  assert_int_equal(server_start(&s), 0);
  assert_int_equal(server_join(&s), CAPSID_EINVAL);
  /* A second server on a name in use does not get an instance of it
   * (FILE_FLAG_FIRST_PIPE_INSTANCE, which Wine 8 does not honour: there
   * the second server would listen beside the first). */
  if (wt_enforcing()) {
    server_init(&s, pipe_name);
    assert_int_equal(server_start(&s), 0);
    assert_int_equal(server_join(&s), CAPSID_EEXIST);
  }
  capsid__free(name);
}


static void test_ping(void** state) {
  conn_t c;
  json_t* ev;

  (void)state;
  connect_ok(&c);
  ev = ask(&c, "{\"v\":1,\"type\":\"ping\",\"tag\":\"p1\"}", "pong");
  assert_string_equal(json_string_value(json_object_get(ev, "tag")), "p1");
  assert_non_null(json_string_value(json_object_get(ev, "version")));
  json_decref(ev);
  conn_close(&c);
}


/* The server knows the client from the pipe's token: this process's
 * user, which is the server's own (owner), under the number the server
 * gives that SID. */
static void test_status_identity(void** state) {
  conn_t c;
  json_t* ev;

  (void)state;
  connect_ok(&c);
  ev = ask(&c, "{\"v\":1,\"type\":\"status\"}", "status");
  assert_int_equal(json_integer_value(json_object_get(ev, "uid")),
                   serve__self_uid());
  assert_true(json_is_true(json_object_get(ev, "owner")));
  json_decref(ev);
  conn_close(&c);
}


/* A job through the server: the same exit code and output as the same
 * job run locally through the library; streamed output too. */
static void test_run_same_as_local(void** state) {
  const char* args[] = {"echo", "hello out", NULL};
  const char* argv[] = {wt_child(), "echo", "hello out", NULL};
  capsid_job_spec_t spec = CAPSID_JOB_SPEC_INIT;
  capsid_result_t local;
  json_t* exit_ev;
  json_t* result;
  json_t* ev;
  char* job = job_text(wt_ws, NULL, args);
  char* req;
  conn_t c;

  (void)state;
  spec.argv = argv;
  spec.cwd = wt_ws;
  assert_int_equal(capsid_run_capture(&spec, &local), 0);
  assert_int_equal(local.error.code, 0);
  connect_ok(&c);
  result = run_job(&c, job, &exit_ev);
  assert_true(json_is_null(json_object_get(result, "error")));
  assert_int_equal(json_integer_value(json_object_get(result, "exit_code")),
                   local.exit_code);
  assert_string_equal(json_string_value(json_object_get(result, "stdout")),
                      local.out.data);
  assert_string_equal(json_string_value(json_object_get(result, "stdout")),
                      "hello out\n");
  json_decref(exit_ev);
  capsid_result_free(&local);

  req = capsid__sprintf("{\"v\":1,\"type\":\"run\",\"stream\":true,"
                        "\"job\":%s}", job);
  assert_int_equal(conn_send(&c, req), 0);
  ev = conn_wait(&c, "output");
  assert_string_equal(json_string_value(json_object_get(ev, "stream")),
                      "stdout");
  assert_non_null(strstr(json_string_value(json_object_get(ev, "data")),
                         "hello out"));
  json_decref(ev);
  ev = conn_wait(&c, "exit");
  json_decref(ev);
  capsid__free(req);
  capsid__free(job);
  conn_close(&c);
}


static void test_cancel(void** state) {
  const char* args[] = {"sleep", "60000", NULL};
  char* job = job_text(wt_ws, NULL, args);
  char* req = capsid__sprintf("{\"v\":1,\"type\":\"run\",\"job\":%s}", job);
  json_t* result;
  json_t* ev;
  json_int_t id;
  conn_t c;

  (void)state;
  connect_ok(&c);
  assert_int_equal(conn_send(&c, req), 0);
  ev = conn_wait(&c, "accepted");
  id = json_integer_value(json_object_get(ev, "job"));
  json_decref(ev);
  ev = conn_wait(&c, "started");
  json_decref(ev);
  capsid__free(req);
  req = capsid__sprintf("{\"v\":1,\"type\":\"cancel\",\"job\":%lld,"
                        "\"grace_ms\":500}", (long long)id);
  assert_int_equal(conn_send(&c, req), 0);
  ev = conn_wait(&c, "ok");
  json_decref(ev);
  ev = conn_wait(&c, "exit");
  result = json_object_get(ev, "result");
  assert_true(json_is_true(json_object_get(result, "interrupted")) ||
              json_is_true(json_object_get(result, "killed")));
  json_decref(ev);
  capsid__free(req);
  capsid__free(job);
  conn_close(&c);
}


static void expect_error_field(conn_t* c, const char* line,
                               const char* field) {
  json_t* ev;

  ev = ask(c, line, "error");
  assert_string_equal(json_string_value(json_object_get(ev, "field")),
                      field);
  json_decref(ev);
}


/* Malformed requests get an error naming the field; the connection
 * stays usable. */
static void test_malformed(void** state) {
  conn_t c;
  json_t* ev;

  (void)state;
  connect_ok(&c);
  expect_error_field(&c, "{\"v\":1,\"type\":\"launch\"}", "type");
  expect_error_field(&c, "{\"v\":1,\"type\":\"cancel\",\"job\":\"x\"}",
                     "job");
  expect_error_field(&c, "{\"v\":1,\"type\":\"ping\",\"bogus\":1}", "bogus");
  ev = ask(&c, "{\"v\":1,\"type\":\"ping\"}", "pong");
  json_decref(ev);
  conn_close(&c);
}


/* A directory whose DACL lets its owner, this user, read and list it but
 * not write it; asserted by asking AccessCheck for this user's token.
 * Wine keeps no DACL of a file: it shows the Unix mode bits as one, so
 * scripts/test-windows.sh makes a mode 0555 directory and names it in
 * CAPSID_WT_READONLY_DIR; elsewhere the DACL is written here. */
static char* read_only_dir(void) {
  const char* given = getenv("CAPSID_WT_READONLY_DIR");
  char* dir = given != NULL ? capsid__strdup(given)
                            : capsid__sprintf("%s/read-only", wt_ws);
  WCHAR* wide = capsid__utf16(dir);
  GENERIC_MAPPING mapping = {FILE_GENERIC_READ, FILE_GENERIC_WRITE,
                             FILE_GENERIC_EXECUTE, FILE_ALL_ACCESS};
  PSECURITY_DESCRIPTOR sd = NULL;
  PRIVILEGE_SET privileges;
  DWORD priv_len = sizeof(privileges), granted = 0;
  BOOL status = TRUE;
  HANDLE process, imp;
  BYTE buf[512];
  ACL* acl = (ACL*)buf;
  char* me = my_sid();

  if (given == NULL) {
    assert_true(CreateDirectoryW(wide, NULL));
    assert_true(InitializeAcl(acl, sizeof(buf), ACL_REVISION));
    wt_add_ace(acl, me, FILE_GENERIC_READ | FILE_GENERIC_EXECUTE, 0, 0);
    assert_int_equal(
        SetNamedSecurityInfoW(wide, SE_FILE_OBJECT,
                              DACL_SECURITY_INFORMATION |
                                  PROTECTED_DACL_SECURITY_INFORMATION,
                              NULL, NULL, acl, NULL),
        ERROR_SUCCESS);
  }
  assert_int_equal(GetNamedSecurityInfoW(wide, SE_FILE_OBJECT,
                                         OWNER_SECURITY_INFORMATION |
                                             GROUP_SECURITY_INFORMATION |
                                             DACL_SECURITY_INFORMATION,
                                         NULL, NULL, NULL, NULL, &sd),
                   ERROR_SUCCESS);
  assert_true(OpenProcessToken(GetCurrentProcess(), TOKEN_DUPLICATE,
                               &process));
  assert_true(DuplicateToken(process, SecurityImpersonation, &imp));
  assert_true(AccessCheck(sd, imp, FILE_GENERIC_WRITE, &mapping, &privileges,
                          &priv_len, &granted, &status));
  assert_false(status);
  CloseHandle(imp);
  CloseHandle(process);
  LocalFree(sd);
  LocalFree(me);
  capsid__free(wide);
  return dir;
}


/* The cwd and every writable root are checked against their security
 * descriptors with the token the client connected with: a directory the
 * client may not write is refused, the field named, as cwd and as a
 * writable root; the client's own workspace runs (the control). That
 * the token is the client's and not the server's needs two users:
 * windows-smoke.ps1 ("serve: another user"). */
static void test_paths_checked_with_token(void** state) {
  const char* args[] = {"echo", "x", NULL};
  char* dir = read_only_dir();
  char* in_dir = job_text(dir, NULL, args);
  char* root = capsid__sprintf("\"writable_roots\":[\"%s\"]", dir);
  char* with_root = job_text(wt_ws, root, args);
  char* ok = job_text(wt_ws, NULL, args);
  const char* message;
  json_t* exit_ev;
  json_t* result;
  json_t* err;
  conn_t c;

  (void)state;
  connect_ok(&c);
  result = run_job(&c, in_dir, &exit_ev);
  err = json_object_get(result, "error");
  assert_true(json_is_object(err));
  assert_string_equal(json_string_value(json_object_get(err, "field")),
                      "cwd");
  message = json_string_value(json_object_get(err, "message"));
  assert_non_null(message);
  assert_non_null(strstr(message, "the client may not write it"));
  json_decref(exit_ev);
  result = run_job(&c, with_root, &exit_ev);
  err = json_object_get(result, "error");
  assert_true(json_is_object(err));
  assert_string_equal(json_string_value(json_object_get(err, "field")),
                      "writable_roots[0]");
  json_decref(exit_ev);
  result = run_job(&c, ok, &exit_ev);
  assert_true(json_is_null(json_object_get(result, "error")));
  assert_string_equal(json_string_value(json_object_get(result, "stdout")),
                      "x\n");
  json_decref(exit_ev);
  conn_close(&c);
  capsid__free(ok);
  capsid__free(root);
  capsid__free(with_root);
  capsid__free(in_dir);
  capsid__free(dir);
}


/* The server needs an absolute cwd, and on Windows one is written with
 * either separator; a drive-relative or relative path is not. */
static void test_absolute_written(void** state) {
  (void)state;
  assert_true(capsid__path_is_absolute_written("C:/x"));
  assert_true(capsid__path_is_absolute_written("c:\\x\\y"));
  assert_true(capsid__path_is_absolute_written("\\\\srv\\share\\d"));
  assert_true(capsid__path_is_absolute_written("//srv/share"));
  assert_false(capsid__path_is_absolute_written("C:x"));
  assert_false(capsid__path_is_absolute_written("x\\y"));
  assert_false(capsid__path_is_absolute_written("\\x"));
  assert_false(capsid__path_is_absolute_written(""));
}


/* A server on stdio: the child process, the write end of its stdin and
 * its stdout as a connection. */
typedef struct stdio_srv_s {
  PROCESS_INFORMATION pi;
  HANDLE in;
  conn_t out;
} stdio_srv_t;


/* Starts cmdline with stdin and stdout on anonymous pipes (CreatePipe:
 * synchronous, as a parent's usually are) and our stderr. Returns 0. */
static int stdio_start(stdio_srv_t* s, const char* cmdline) {
  SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
  STARTUPINFOW si;
  HANDLE in_r = NULL, out_w = NULL;
  WCHAR* wide = capsid__utf16(cmdline);
  BOOL ok;

  memset(s, 0, sizeof(*s));
  s->out.h = INVALID_HANDLE_VALUE;
  if (wide == NULL || !CreatePipe(&in_r, &s->in, &sa, 0) ||
      !CreatePipe(&s->out.h, &out_w, &sa, 0)) {
    capsid__free(wide);
    return -1;
  }
  /* Our ends stay ours: a child holding the write end of its own stdin
   * would never see it end. */
  SetHandleInformation(s->in, HANDLE_FLAG_INHERIT, 0);
  SetHandleInformation(s->out.h, HANDLE_FLAG_INHERIT, 0);
  memset(&si, 0, sizeof(si));
  si.cb = sizeof(si);
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = in_r;
  si.hStdOutput = out_w;
  si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
  ok = CreateProcessW(NULL, wide, NULL, NULL, TRUE, 0, NULL, NULL, &si,
                      &s->pi);
  CloseHandle(in_r);
  CloseHandle(out_w);
  capsid__free(wide);
  return ok ? 0 : -1;
}


static int stdio_send(stdio_srv_t* s, const char* line, const char* eol) {
  char* text = capsid__sprintf("%s%s", line, eol);
  DWORD n;
  BOOL ok = WriteFile(s->in, text, (DWORD)strlen(text), &n, NULL);

  capsid__free(text);
  return ok ? 0 : -1;
}


/* Ends the server's input and waits for it; its exit status, or -1. */
static long stdio_finish(stdio_srv_t* s) {
  DWORD rc = (DWORD)-1;

  CloseHandle(s->in);
  if (WaitForSingleObject(s->pi.hProcess, 60000) != WAIT_OBJECT_0 ||
      !GetExitCodeProcess(s->pi.hProcess, &rc))
    rc = (DWORD)-1;
  CloseHandle(s->pi.hProcess);
  CloseHandle(s->pi.hThread);
  conn_close(&s->out);
  return (long)rc;
}


/* The next event of a stdio server and its line; fails on a CR (stdout
 * translated to text mode) or the end of the output. */
static json_t* stdio_event(stdio_srv_t* s, const char* name) {
  char* line = NULL;
  json_t* ev;
  const char* got;

  for (;;) {
    ev = conn_event(&s->out, &line);
    if (ev == NULL)
      fail_msg("stdio: the output ended before a \"%s\" event (%s)", name,
               line != NULL ? line : "no line");
    if (strchr(line, '\r') != NULL)
      fail_msg("stdio: a CR in the event line: %s", line);
    capsid__free(line);
    got = json_string_value(json_object_get(ev, "event"));
    if (got != NULL && strcmp(got, name) == 0)
      return ev;
    json_decref(ev);
  }
}


/* --stdio-server: what `capsid serve --stdio` runs, on this build's
 * library, so that the job runs past Wine's verification. */
static int stdio_server_main(void) {
  serve_options_t opt;

  memset(&opt, 0, sizeof(opt));
  opt.stdio = 1;
  opt.listen_fd = -1;
  opt.socket_mode = -1;
  opt.grace_ms = 2000;
  opt.jobs = 2;
  opt.quiet = 1;
  capsid__win_test_unverified_ok = 1;
  return serve_run(&opt) == 0 ? 0 : 1;
}


/* serve --stdio on anonymous pipes: a request ended by CRLF (what .NET's
 * WriteLine sends) is answered; a job's output comes back in its exit
 * event; no event line carries a CR; the server exits 0 when its input
 * ends. */
static void test_stdio(void** state) {
  const char* args[] = {"echo", "hello stdio", NULL};
  char* job = job_text(wt_ws, NULL, args);
  char* req = capsid__sprintf("{\"v\":1,\"type\":\"run\",\"job\":%s}", job);
  char* self = wt_beside("test-win-serve.exe");
  char* cmdline = capsid__sprintf("\"%s\" --stdio-server", self);
  stdio_srv_t s;
  json_t* ev;
  json_t* result;

  (void)state;
  assert_int_equal(stdio_start(&s, cmdline), 0);
  assert_int_equal(stdio_send(&s, "{\"v\":1,\"type\":\"ping\"}", "\r\n"), 0);
  json_decref(stdio_event(&s, "pong"));
  assert_int_equal(stdio_send(&s, req, "\n"), 0);
  json_decref(stdio_event(&s, "accepted"));
  ev = stdio_event(&s, "exit");
  result = json_object_get(ev, "result");
  assert_true(json_is_null(json_object_get(result, "error")));
  assert_int_equal(json_integer_value(json_object_get(result, "exit_code")),
                   0);
  assert_string_equal(json_string_value(json_object_get(result, "stdout")),
                      "hello stdio\n");
  json_decref(ev);
  assert_int_equal(stdio_finish(&s), 0);
  capsid__free(cmdline);
  capsid__free(self);
  capsid__free(req);
  capsid__free(job);
}


/* --stdio-client EXE LINE...: see the top of the file. Prints each event
 * line as it came, then "server exit N"; returns 0 when all went so. */
static int stdio_client_main(const char* exe, int n, char** lines) {
  char* cmdline = capsid__sprintf("\"%s\" serve --stdio", exe);
  stdio_srv_t s;
  int i, answered = 0, cr = 0;
  long rc;

  if (stdio_start(&s, cmdline) != 0) {
    fprintf(stderr, "test-win-serve --stdio-client: cannot start %s\n", exe);
    capsid__free(cmdline);
    return 2;
  }
  capsid__free(cmdline);
  for (i = 0; i < n; i++)
    stdio_send(&s, lines[i], "\n");
  /* Every request is answered by one of these; the others (accepted,
   * started, output) come before the answer. */
  while (answered < n) {
    char* line = NULL;
    json_t* ev = conn_event(&s.out, &line);
    const char* name;

    if (ev == NULL) {
      capsid__free(line);
      break;
    }
    cr |= strchr(line, '\r') != NULL;
    printf("%s\n", line);
    name = json_string_value(json_object_get(ev, "event"));
    answered += name != NULL && (strcmp(name, "pong") == 0 ||
                                 strcmp(name, "exit") == 0 ||
                                 strcmp(name, "error") == 0 ||
                                 strcmp(name, "ok") == 0 ||
                                 strcmp(name, "status") == 0);
    json_decref(ev);
    capsid__free(line);
  }
  rc = stdio_finish(&s);
  printf("server exit %ld\n", rc);
  return answered == n && !cr && rc == 0 ? 0 : 1;
}


/* The owner's shutdown answers ok and serve_run returns 0. Last. */
static void test_shutdown_by_owner(void** state) {
  conn_t c;
  json_t* ev;

  (void)state;
  connect_ok(&c);
  ev = ask(&c, "{\"v\":1,\"type\":\"shutdown\"}", "ok");
  assert_string_equal(json_string_value(json_object_get(ev, "request")),
                      "shutdown");
  json_decref(ev);
  conn_close(&c);
  assert_int_equal(server_join(&main_srv), 0);
}


/* --send PIPE LINE: a one-shot client for scripts. */
static int send_main(const char* path, const char* line) {
  char* ev_line = NULL;
  json_t* ev;
  conn_t c;
  int rc;

  if (conn_open(&c, path) != 0 || conn_send(&c, line) != 0) {
    fprintf(stderr, "test-win-serve --send: cannot reach %s\n", path);
    return 2;
  }
  ev = conn_event(&c, &ev_line);
  printf("%s\n", ev_line != NULL ? ev_line : "(no event)");
  rc = ev == NULL || strcmp(json_string_value(json_object_get(ev, "event")),
                            "error") == 0;
  json_decref(ev);
  capsid__free(ev_line);
  conn_close(&c);
  return rc;
}


int main(int argc, char** argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pipe_dacl),
      cmocka_unit_test(test_pipe_dacl_allowed),
      cmocka_unit_test(test_ping),
      cmocka_unit_test(test_status_identity),
      cmocka_unit_test(test_run_same_as_local),
      cmocka_unit_test(test_cancel),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_paths_checked_with_token),
      cmocka_unit_test(test_absolute_written),
      cmocka_unit_test(test_stdio),
      cmocka_unit_test(test_shutdown_by_owner),
  };

  if (argc == 4 && strcmp(argv[1], "--send") == 0)
    return send_main(argv[2], argv[3]);
  if (argc == 2 && strcmp(argv[1], "--stdio-server") == 0)
    return stdio_server_main();
  if (argc >= 3 && strcmp(argv[1], "--stdio-client") == 0)
    return stdio_client_main(argv[2], argc - 3, argv + 3);
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
