/* The read-only status page (see queue-web.h). One request at a time,
 * each answered with a fresh read of the queue and the connection closed:
 * a page for a few operators, not a public site. */
#include "queue-web.h"

#include "scale-net.h"

#include "capsid-common.h"

#include <errno.h>
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


static void reply(int fd, const char* status, const char* type,
                  const char* body, size_t len) {
  char head[512];
  int n = snprintf(head, sizeof(head),
                   "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu"
                   "\r\nCache-Control: no-store\r\nX-Content-Type-Options: "
                   "nosniff\r\nConnection: close\r\n\r\n",
                   status, type, len);

  scale_net_send_all(fd, head, (size_t)n);
  scale_net_send_all(fd, body, len);
}


static void serve(const scale_queue_config_t* cfg, int fd) {
  char req[REQUEST_MAX], err[600];
  json_t* status;
  char* text;
  int rc;

  if (scale_net_read_head(fd, req, sizeof(req), REQUEST_TIMEOUT_MS) != 0)
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
  int lfd = scale_net_listen(listen_addr, "--listen", err, err_size);
  char where[300];
  int fd;

  if (lfd < 0)
    return lfd;
  if (scale_net_where(lfd, where, sizeof(where)) == 0)
    fprintf(stderr, "capsid queue web: serving http://%s/\n", where);
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
