/* Network cases: an offline job reaches nothing outside its own
 * namespace -- TCP and UDP to a server this test runs on the host's
 * loopback, curl and python -- while an online job reaches the same
 * server (the control). Host sockets under /run are hidden offline. */
#include "smoke.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int listen_on(int type, int* port) {
  struct sockaddr_in sa;
  socklen_t len = sizeof(sa);
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

  assert_true(fd >= 0);
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr*)&sa, sizeof(sa)), 0);
  if (type == SOCK_STREAM)
    assert_int_equal(listen(fd, 16), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr*)&sa, &len), 0);
  *port = ntohs(sa.sin_port);
  return fd;
}


static int udp_received(int fd) {
  char buf[64];
  return recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0;
}


void smoke_network_blocked(void** state) {
  char* ws = smoke_workspace();
  smoke_job_t off = {.cwd = ws, .network = 0};
  smoke_job_t on = {.cwd = ws, .network = 1};
  char script[1024];
  int tcp, udp, tport, uport;

  (void)state;
  tcp = listen_on(SOCK_STREAM, &tport);
  udp = listen_on(SOCK_DGRAM, &uport);

  /* TCP through the shell's /dev/tcp is bash-only; python and curl are in
   * the bootstrap set. */
  if (smoke_have("python3")) {
    snprintf(script, sizeof(script),
             "python3 -c \"import socket; s=socket.create_connection(("
             "'127.0.0.1',%d),3); print('connected')\"",
             tport);
    assert_int_not_equal(smoke_sh_status(&off, script), 0);
    assert_int_equal(smoke_sh_status(&on, script), 0);

    snprintf(script, sizeof(script),
             "python3 -c \"import socket; s=socket.socket(socket.AF_INET,"
             "socket.SOCK_DGRAM); s.sendto(b'x',('127.0.0.1',%d))\"",
             uport);
    smoke_sh_status(&off, script);
    assert_false(udp_received(udp));
    assert_int_equal(smoke_sh_status(&on, script), 0);
    usleep(100000);
    assert_true(udp_received(udp));

    /* Nor any address outside: no route at all. */
    assert_int_not_equal(
        smoke_sh_status(&off, "python3 -c \"import socket; "
                              "socket.create_connection(('192.0.2.1',80),2)\""),
        0);
  }
  if (smoke_have("curl")) {
    snprintf(script, sizeof(script),
             "curl -s -o /dev/null --max-time 3 http://127.0.0.1:%d/", tport);
    /* curl exits 7 (cannot connect) offline; online it connects and then
     * times out waiting for an answer that never comes (28). */
    assert_int_equal(smoke_sh_status(&off, script) == 7 ||
                         smoke_sh_status(&off, script) == 45,
                     1);
    assert_int_equal(smoke_sh_status(&on, script), 28);
  }
  close(tcp);
  close(udp);
  smoke_rmtree(ws);
}


/* Path sockets of host daemons live in /run: hidden offline, visible
 * online (the control). */
void smoke_run_hidden(void** state) {
  char* ws = smoke_workspace();
  smoke_job_t off = {.cwd = ws, .network = 0};
  smoke_job_t on = {.cwd = ws, .network = 1};
  capsid_result_t r;

  (void)state;
  smoke_sh(&off, "ls -A /run | wc -l", &r);
  assert_int_equal(atoi(r.out.data), 0);
  capsid_result_free(&r);
  smoke_sh(&on, "ls -A /run | wc -l", &r);
  assert_true(atoi(r.out.data) > 0);
  capsid_result_free(&r);
  smoke_rmtree(ws);
}


/* An online job keeps /run but not the caller's login session: a marker
 * in /run/user/<uid> (made by the test when the host has no session) is
 * invisible to it, and so would be the session bus that runs commands
 * outside the sandbox. Controls: the test sees the marker, and the same
 * online job still lists /run. */
void smoke_session_hidden(void** state) {
  char* ws = smoke_workspace();
  smoke_job_t on = {.cwd = ws, .network = 1};
  capsid_result_t r;
  char session[64], marker[160], cmd[256];
  int made_user, made_session;

  (void)state;
  snprintf(session, sizeof(session), "/run/user/%u", (unsigned)getuid());
  made_user = mkdir("/run/user", 0755) == 0;
  made_session = mkdir(session, 0700) == 0;
  snprintf(marker, sizeof(marker), "%s/capsid-smoke-%s", session,
           smoke_token());
  if (!made_session && access(session, W_OK) != 0) {
    if (test_may_skip("/run/user/<uid> exists and is not writable here"))
      skip();
    fail();
  }
  assert_int_equal(test_system("touch '%s'", marker), 0);
  assert_int_equal(access(marker, F_OK), 0);

  snprintf(cmd, sizeof(cmd), "test -e '%s' && echo seen || echo hidden",
           marker);
  smoke_sh(&on, cmd, &r);
  assert_string_equal(r.out.data, "hidden\n");
  capsid_result_free(&r);
  smoke_sh(&on, "ls -A /run | wc -l", &r);
  assert_true(atoi(r.out.data) > 0);
  capsid_result_free(&r);

  unlink(marker);
  if (made_session)
    rmdir(session);
  if (made_user)
    rmdir("/run/user");
  smoke_rmtree(ws);
}


typedef struct pair_s {
  capsid_result_t server;
  capsid_result_t client;
  int done;
} pair_t;


static void on_server(capsid_job_t* job, capsid_result_t* r, void* data) {
  (void)job;
  capsid_result_move(&((pair_t*)data)->server, r);
}


static void on_client(capsid_job_t* job, capsid_result_t* r, void* data) {
  (void)job;
  capsid_result_move(&((pair_t*)data)->client, r);
}


/* A server a job of workspace A runs on its loopback is unreachable from
 * a concurrent job of workspace B; the control is a client inside A's own
 * job, which reaches it. */
void smoke_loopback_per_workspace(void** state) {
  char* a = smoke_workspace();
  char* b = smoke_workspace();
  char server[2048], client[2048];
  /* Through sh, which searches PATH as the job's identity (a PATH entry
   * only root can read is skipped there). */
  const char* sargv[] = {"/bin/sh", "-c", "exec python3 -c \"$0\"", server,
                         NULL};
  const char* cargv[] = {"/bin/sh", "-c", "exec python3 -c \"$0\"", client,
                         NULL};
  capsid_runtime_options_t ro;
  capsid_runtime_t* rt;
  capsid_job_spec_t s, c;
  pair_t pr;

  (void)state;
  if (!smoke_have("python3")) {
    if (test_may_skip("python3 is not installed"))
      skip();
    fail();
  }
  /* The server answers its own client, then waits until B says it has
   * tried (a file in B's workspace) or 15 s pass. */
  snprintf(server, sizeof(server),
           "import socket,time,os\n"
           "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,"
           "socket.SO_REUSEADDR,1)\n"
           "s.bind(('127.0.0.1',47123)); s.listen(5)\n"
           "c=socket.create_connection(('127.0.0.1',47123),2)\n"
           "s.accept(); print('self-connect ok', flush=True)\n"
           "open('ready','w').close()\n"
           "s.settimeout(0.05); got=False\n"
           "for i in range(300):\n"
           "  try:\n    s.accept(); got=True; break\n"
           "  except socket.timeout: pass\n"
           "  if os.path.exists('%s/done'): break\n"
           "print('B got in' if got else 'nobody came')\n",
           b);
  snprintf(client, sizeof(client),
           "import socket,time,os\n"
           "for i in range(1000):\n"
           "  if os.path.exists('%s/ready'): break\n"
           "  time.sleep(0.01)\n"
           "try:\n  socket.create_connection(('127.0.0.1',47123),2); "
           "print('reached')\n"
           "except Exception as e: print('refused', e)\n"
           "open('done','w').close()\n",
           a);
  ro = (capsid_runtime_options_t)CAPSID_RUNTIME_OPTIONS_INIT;
  ro.max_concurrency = 2;
  assert_int_equal(capsid_runtime_new(&ro, &rt), 0);
  memset(&pr, 0, sizeof(pr));
  s = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  s.argv = sargv;
  s.cwd = a;
  s.network = 0;
  s.mode = smoke_mode;
  s.timeout_ms = 20000;
  c = s;
  c.argv = cargv;
  c.cwd = b;
  assert_int_equal(capsid_job_start(rt, &s, on_server, &pr, NULL), 0);
  assert_int_equal(capsid_job_start(rt, &c, on_client, &pr, NULL), 0);
  capsid_runtime_run(rt);
  capsid_runtime_close(rt, NULL, NULL);
  if (pr.server.error.code != 0 || pr.client.error.code != 0) {
    char msg[1024];
    fail_msg("a job failed to run: %s / %s",
             capsid_error_format(&pr.server.error, msg, sizeof(msg)),
             pr.client.error.message ? pr.client.error.message : "");
  }
  assert_non_null(strstr(pr.server.out.data, "self-connect ok"));
  assert_non_null(strstr(pr.server.out.data, "nobody came"));
  assert_non_null(strstr(pr.client.out.data, "refused"));
  capsid_result_free(&pr.server);
  capsid_result_free(&pr.client);
  smoke_rmtree(a);
  smoke_rmtree(b);
}
