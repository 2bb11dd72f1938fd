/* The read-only status page (see queue-web.h). One request at a time,
 * each answered with a fresh read of the queue and the connection closed:
 * a page for a few operators, not a public site. */
#include "queue-web.h"

#include "capsid-common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define REQUEST_MAX 8192
#define REQUEST_TIMEOUT_MS 5000

static const char page[] =
"<!doctype html>\n"
"<html><head><meta charset=\"utf-8\"><title>capsid queue</title>\n"
"<style>body{font:14px sans-serif;margin:2em}table{border-collapse:"
"collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.2em "
".6em;text-align:left}.warn{color:#a00;font-weight:bold}</style></head>\n"
"<body><h1>capsid queue <span id=\"stream\"></span></h1>\n"
"<p id=\"error\" class=\"warn\"></p>\n"
"<p>Jobs in the stream: <b id=\"length\">-</b>; pending: <b id=\"pending\">"
"-</b>; not yet delivered: <b id=\"lag\">-</b></p>\n"
"<p>Results: <b id=\"results\">-</b>; in the last minute: <b "
"id=\"throughput\">-</b>; dead letters: <b id=\"dead\">-</b></p>\n"
"<p id=\"persistence\"></p>\n"
"<h2>Workers</h2><table id=\"workers\"><thead><tr><th>worker</th><th>"
"jobs held</th><th>idle (s)</th></tr></thead><tbody></tbody></table>\n"
"<h2>Last failures</h2><table id=\"failures\"><thead><tr><th>job</th><th>"
"worker</th><th>exit code</th><th>error</th></tr></thead><tbody></tbody>"
"</table>\n"
"<p><small>updated <span id=\"updated\">never</span></small></p>\n"
"<script>\n"
"function set(id, v) { document.getElementById(id).textContent = v; }\n"
"function rows(id, list, cells) {\n"
"  const body = document.querySelector('#' + id + ' tbody');\n"
"  body.textContent = '';\n"
"  for (const item of list) {\n"
"    const tr = document.createElement('tr');\n"
"    for (const c of cells(item)) {\n"
"      const td = document.createElement('td');\n"
"      td.textContent = c === null || c === undefined ? '' : String(c);\n"
"      tr.appendChild(td);\n"
"    }\n"
"    body.appendChild(tr);\n"
"  }\n"
"}\n"
"async function refresh() {\n"
"  try {\n"
"    const r = await fetch('status.json', {cache: 'no-store'});\n"
"    const s = await r.json();\n"
"    if (!r.ok) throw new Error(s.error || r.statusText);\n"
"    set('error', '');\n"
"    set('stream', s.stream);\n"
"    set('length', s.length);\n"
"    set('pending', s.group ? s.group.pending : 'no worker yet');\n"
"    set('lag', s.group && s.group.lag !== null ? s.group.lag : '-');\n"
"    set('results', s.results.length);\n"
"    set('throughput', s.results.last_minute +\n"
"        (s.results.last_minute_capped ? '+' : ''));\n"
"    set('dead', s.dead_letters.length);\n"
"    const p = s.persistence;\n"
"    const el = document.getElementById('persistence');\n"
"    el.className = p.aof === false ? 'warn' : '';\n"
"    el.textContent = p.aof === false ?\n"
"        'Redis ' + p.server + ' has AOF off: a restart loses the queue' :\n"
"        'Redis ' + p.server + ': AOF ' + (p.aof ? 'on' : 'unknown') +\n"
"        (p.appendfsync ? ' (appendfsync ' + p.appendfsync + ')' : '');\n"
"    rows('workers', s.group ? s.group.consumers : [],\n"
"         w => [w.name, w.pending, (w.idle_ms / 1000).toFixed(1)]);\n"
"    rows('failures', s.results.failures,\n"
"         f => [f.id, f.worker, f.exit_code, f.error]);\n"
"    set('updated', new Date(s.time_ms).toISOString());\n"
"  } catch (e) {\n"
"    set('error', 'cannot read the queue: ' + e.message);\n"
"  }\n"
"}\n"
"refresh();\n"
"setInterval(refresh, 1000);\n"
"</script></body></html>\n";


static int parse_listen(const char* text, char* host, size_t host_size,
                        char* port, size_t port_size) {
  const char* colon = strrchr(text, ':');
  const char* h = text;
  size_t n;

  if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) >= port_size)
    return -1;
  n = (size_t)(colon - text);
  if (n >= 2 && text[0] == '[' && text[n - 1] == ']') {
    h = text + 1;
    n -= 2;
  }
  if (n == 0 || n >= host_size)
    return -1;
  memcpy(host, h, n);
  host[n] = '\0';
  snprintf(port, port_size, "%s", colon + 1);
  return 0;
}


static int listen_on(const char* addr, char* err, size_t err_size) {
  struct addrinfo hints, *res = NULL, *ai;
  char host[256], port[16];
  int fd = -1, one = 1, rc;

  if (parse_listen(addr, host, sizeof(host), port, sizeof(port)) != 0) {
    snprintf(err, err_size, "--listen: \"%s\" is not HOST:PORT "
             "(e.g. 127.0.0.1:8080)", addr);
    return CAPSID_EINVAL;
  }
  memset(&hints, 0, sizeof(hints));
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  rc = getaddrinfo(host, port, &hints, &res);
  if (rc != 0) {
    snprintf(err, err_size, "--listen: \"%s\": %s", addr, gai_strerror(rc));
    return CAPSID_EINVAL;
  }
  for (ai = res; ai != NULL; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                ai->ai_protocol);
    if (fd < 0)
      continue;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 16) == 0)
      break;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    snprintf(err, err_size, "--listen: cannot listen on %s: %s", addr,
             strerror(errno));
    return CAPSID_EIO;
  }
  return fd;
}


static void say_where(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  char host[INET6_ADDRSTRLEN], serv[16];

  if (getsockname(fd, (struct sockaddr*)&ss, &len) != 0 ||
      getnameinfo((struct sockaddr*)&ss, len, host, sizeof(host), serv,
                  sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return;
  fprintf(stderr, ss.ss_family == AF_INET6
                      ? "capsid queue web: serving http://[%s]:%s/\n"
                      : "capsid queue web: serving http://%s:%s/\n",
          host, serv);
}


static void send_all(int fd, const char* p, size_t n) {
  ssize_t w;

  while (n > 0) {
    w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return;
    p += w;
    n -= (size_t)w;
  }
}


static void reply(int fd, const char* status, const char* type,
                  const char* body, size_t len) {
  char head[512];
  int n = snprintf(head, sizeof(head),
                   "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu"
                   "\r\nCache-Control: no-store\r\nX-Content-Type-Options: "
                   "nosniff\r\nConnection: close\r\n\r\n",
                   status, type, len);

  send_all(fd, head, (size_t)n);
  send_all(fd, body, len);
}


/* Reads the request head (bounded in size and time). */
static int read_head(int fd, char* buf, size_t size) {
  size_t have = 0;
  struct pollfd p;
  ssize_t n;

  p.fd = fd;
  p.events = POLLIN;
  while (have + 1 < size) {
    if (poll(&p, 1, REQUEST_TIMEOUT_MS) != 1)
      return -1;
    n = recv(fd, buf + have, size - 1 - have, 0);
    if (n <= 0)
      return -1;
    have += (size_t)n;
    buf[have] = '\0';
    if (strstr(buf, "\r\n\r\n") != NULL)
      return 0;
  }
  return -1;
}


static void serve(const scale_queue_config_t* cfg, int fd) {
  char req[REQUEST_MAX], err[600];
  json_t* status;
  char* text;
  int rc;

  if (read_head(fd, req, sizeof(req)) != 0)
    return;
  if (strncmp(req, "GET ", 4) != 0 && strncmp(req, "HEAD ", 5) != 0) {
    reply(fd, "405 Method Not Allowed", "text/plain", "read-only\n", 10);
    return;
  }
  if (strncmp(req, "GET / ", 6) == 0) {
    reply(fd, "200 OK", "text/html; charset=utf-8", page, sizeof(page) - 1);
    return;
  }
  if (strncmp(req, "GET /status.json ", 17) != 0) {
    reply(fd, "404 Not Found", "text/plain", "not found\n", 10);
    return;
  }
  rc = scale_queue_status(cfg, &status, err, sizeof(err));
  if (rc != 0)
    status = json_pack("{s:s}", "error", err);
  text = status != NULL ? json_dumps(status, JSON_COMPACT) : NULL;
  if (text != NULL)
    reply(fd, rc == 0 ? "200 OK" : "503 Service Unavailable",
          "application/json", text, strlen(text));
  free(text);
  json_decref(status);
}


int scale_queue_web(const scale_queue_config_t* cfg, const char* listen_addr,
                    char* err, size_t err_size) {
  int lfd = listen_on(listen_addr, err, err_size);
  int fd;

  if (lfd < 0)
    return lfd;
  say_where(lfd);
  for (;;) {
    fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
        continue;
      snprintf(err, err_size, "accept failed: %s", strerror(errno));
      close(lfd);
      return CAPSID_EIO;
    }
    serve(cfg, fd);
    close(fd);
  }
}
