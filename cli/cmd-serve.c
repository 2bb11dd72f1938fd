/* capsid serve: options, help and the call into serve/. */
#include "cli.h"

#include "args.h"
#include "log.h"
#include "serve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  OPT_SOCKET = 1, OPT_MODE, OPT_ALLOW_USER, OPT_ALLOW_GROUP, OPT_JOBS,
  OPT_GRACE, OPT_STDIO, OPT_HELP
};

static const capsid__option_t serve_options[] = {
    {0, "socket", 1, OPT_SOCKET},
    {0, "socket-mode", 1, OPT_MODE},
    {0, "allow-user", 1, OPT_ALLOW_USER},
    {0, "allow-group", 1, OPT_ALLOW_GROUP},
    {'j', "jobs", 1, OPT_JOBS},
    {0, "grace", 1, OPT_GRACE},
    {0, "stdio", 0, OPT_STDIO},
    {'h', "help", 0, OPT_HELP},
    {0, NULL, 0, 0}};

#define MAX_ALLOWED 64


void cli_help_serve(void) {
  fputs(
"Usage: capsid serve [options]\n"
"\n"
"Runs one long-lived capsid that many clients share: its runtime, and\n"
"each workspace's identities, network namespace and ACL records, stay\n"
"warm between jobs. Clients speak JSON lines over a Unix socket\n"
"(docs/protocol.md): `capsid run --server unix:PATH`, `capsid batch\n"
"--server unix:PATH`, CAPSID_SERVER=unix:PATH, or the Python client in\n"
"bindings/python. Runs in the foreground and logs to stderr; SIGINT or\n"
"SIGTERM (or a shutdown request from the owner) stops it: running jobs\n"
"get SIGTERM and --grace to end.\n"
"\n"
"Who may do what: the kernel tells the server each client's uid and\n"
"groups. Only the server's own user and root may connect unless\n"
"--allow-user/--allow-group name others. A job runs only with a cwd the\n"
"client can read and writable roots the client can write (checked with\n"
"the client's own credentials, after resolving links); another user's\n"
"job runs only on a root server, in elevated mode, in directories that\n"
"user owns. A client sees and cancels only its own user's jobs.\n"
"\n"
"On Windows the server listens on a named pipe, \\\\.\\pipe\\capsid-<user> by\n"
"default (--socket pipe:NAME); clients use --server pipe:NAME. The pipe's\n"
"DACL admits the server's user and the --allow-user/--allow-group\n"
"accounts (SIDs or names), never network logons; each client is known by\n"
"the token it opened the pipe with, and its paths are checked with that\n"
"token (AccessCheck). --socket-mode does not apply there.\n"
"\n"
"options:\n"
"  --socket PATH         where to listen (default: /run/capsid/capsid.sock\n"
"                        as root, $XDG_RUNTIME_DIR/capsid/capsid.sock\n"
"                        otherwise); a socket passed by systemd (LISTEN_FDS)\n"
"                        is used instead when there is one\n"
"  --socket-mode MODE    the socket's permission bits, octal (default 0600;\n"
"                        0666 when --allow-user or --allow-group is given:\n"
"                        the server checks every client itself)\n"
"  --allow-user USER     let USER (name or uid) connect; repeatable\n"
"  --allow-group GROUP   let members of GROUP connect; repeatable\n"
"  -j, --jobs N          jobs running at once (default: the CPUs)\n"
"  --grace DURATION      SIGTERM-to-kill grace at shutdown (default 5s)\n"
"  --stdio               serve one private client on stdin/stdout instead\n"
"                        of a socket (what the Python client starts); stdin\n"
"                        may be a file of requests: at its end every job\n"
"                        finishes and its events are written, then exit\n"
"  -h, --help            this text\n", stdout);
}


void cli_help_main_serve(void) {
  fputs(
"\n"
"One long-lived server for many clients (docs/protocol.md):\n"
"  capsid serve [--socket PATH] [--allow-user U] [--allow-group G]\n"
"  capsid run|batch --server unix:PATH ...       through that server\n"
"                                               (or CAPSID_SERVER=unix:PATH;\n"
"                                               pipe:NAME on Windows)\n",
      stdout);
}


int cli_cmd_serve(int argc, char** argv) {
  uint32_t uids[MAX_ALLOWED], gids[MAX_ALLOWED];
  serve_options_t opt;
  capsid__args_t a;
  char* def = NULL;
  char* end;
  long mode;
  int o, rc;

  memset(&opt, 0, sizeof(opt));
  opt.listen_fd = -1;
  opt.socket_mode = -1;
  opt.grace_ms = CLI_DEFAULT_GRACE_MS;
  opt.allow_uids = uids;
  opt.allow_gids = gids;
  capsid__args_init(&a, "capsid serve", argc, argv);
  while ((o = capsid__args_next(&a, serve_options)) > 0) {
    switch (o) {
    case OPT_SOCKET:
      opt.socket_path = a.value;
      break;
    case OPT_MODE:
      mode = strtol(a.value, &end, 8);
      if (*a.value == '\0' || *end != '\0' || mode < 0 || mode > 0777) {
        fprintf(stderr, "capsid serve: --socket-mode: \"%s\" is not an "
                "octal mode such as 0600 or 0660\n", a.value);
        return 2;
      }
      opt.socket_mode = (int)mode;
      break;
    case OPT_ALLOW_USER:
      if (opt.n_allow_uids == MAX_ALLOWED ||
          serve_user_id(a.value, &uids[opt.n_allow_uids]) != 0) {
        fprintf(stderr, "capsid serve: --allow-user: no user \"%s\"\n",
                a.value);
        return 2;
      }
      opt.n_allow_uids++;
      break;
    case OPT_ALLOW_GROUP:
      if (opt.n_allow_gids == MAX_ALLOWED ||
          serve_group_id(a.value, &gids[opt.n_allow_gids]) != 0) {
        fprintf(stderr, "capsid serve: --allow-group: no group \"%s\"\n",
                a.value);
        return 2;
      }
      opt.n_allow_gids++;
      break;
    case OPT_JOBS: {
      uint64_t n;
      if (capsid__args_count(a.value, &n) != 0 || n == 0 || n > 4096) {
        fprintf(stderr, "capsid serve: -j: \"%s\" is not a number of jobs "
                "from 1 to 4096\n", a.value);
        return 2;
      }
      opt.jobs = (unsigned)n;
      break;
    }
    case OPT_GRACE:
      if (cli_parse_grace("capsid serve", a.value, &opt.grace_ms) != 0)
        return 2;
      break;
    case OPT_STDIO:
      opt.stdio = 1;
      break;
    case OPT_HELP:
      cli_help_serve();
      return 0;
    }
  }
  if (o < 0)
    return 2;
  opt.quiet = capsid__log_level() == CAPSID__LOG_OFF; /* -q, --quiet */
  if (a.index < argc) {
    fprintf(stderr, "capsid serve: unexpected argument \"%s\"\n",
            argv[a.index]);
    return 2;
  }
  if (!opt.stdio && opt.socket_path == NULL)
    opt.listen_fd = serve_activation_fd();
  if (opt.listen_fd == -2) {
    fprintf(stderr, "capsid serve: LISTEN_FDS/LISTEN_PID name this "
            "process but fd 3 is not a socket\n");
    return 1;
  }
  if (!opt.stdio && opt.listen_fd < 0 && opt.socket_path == NULL) {
    def = serve_default_socket();
    if (def == NULL) {
      fprintf(stderr, "capsid serve: XDG_RUNTIME_DIR is not set; give "
              "--socket PATH\n");
      return 2;
    }
    opt.socket_path = def;
  }
  rc = serve_run(&opt);
  capsid__free(def);
  return rc == 0 ? 0 : 1;
}
