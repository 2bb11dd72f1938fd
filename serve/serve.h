/* capsid serve: one long-lived runtime serving many clients over a local
 * socket, one JSON request or event per line (docs/protocol.md).
 *
 * The server keeps one runtime, so per-workspace state (identities, held
 * network namespaces, ACL records) stays warm across requests. Every
 * client is identified by the credentials of its socket; a job runs only
 * with a workspace and writable roots that client could write itself
 * (serve/authorize.c), and a client sees and controls only its own
 * jobs. */
#ifndef CAPSID_SERVE_H
#define CAPSID_SERVE_H

#include "capsid-common.h"

/* The protocol version every message carries as "v". */
#define SERVE_PROTOCOL_VERSION 1
/* Bytes of events waiting to be written to one client before the server
 * applies back-pressure: it stops reading that client's requests and
 * stops streaming its jobs' output (dropped bytes are counted and said in
 * the next output event; exit events always go out). */
#define SERVE_CLIENT_QUEUE_LIMIT ((size_t)4 << 20)
/* Jobs one client may have waiting or running at once. */
#define SERVE_CLIENT_MAX_JOBS 1024
/* Longest request line: a job line plus its stdin. */
#define SERVE_MAX_REQUEST ((size_t)24 << 20)

typedef struct serve_options_s {
  const char* socket_path; /* where to listen; NULL with listen_fd >= 0 */
  int listen_fd;           /* an inherited listening socket, or -1 */
  int socket_mode;         /* permission bits of the socket, or -1: 0600,
                              0666 when users or groups are allowed */
  const uint32_t* allow_uids; /* besides the server's own user and root */
  size_t n_allow_uids;
  const uint32_t* allow_gids; /* members of these groups may connect */
  size_t n_allow_gids;
  unsigned jobs;           /* jobs running at once; 0: CPUs */
  uint64_t grace_ms;       /* SIGTERM-to-kill grace at shutdown */
  int stdio;               /* one private client on stdin and stdout */
  int quiet;               /* no log lines on stderr */
} serve_options_t;

/* Runs the server until a shutdown request, SIGINT or SIGTERM. Returns 0,
 * or a negative CAPSID_E* code after saying why on stderr. */
int serve_run(const serve_options_t* opt);

/* The default socket: /run/capsid/capsid.sock for root,
 * $XDG_RUNTIME_DIR/capsid/capsid.sock otherwise. Caller frees. NULL when
 * no default exists (no XDG_RUNTIME_DIR). */
char* serve_default_socket(void);

/* Socket activation: the listening socket systemd passed (LISTEN_FDS,
 * LISTEN_PID), -1 when none was passed to this process, -2 when one was
 * announced but fd 3 is not a socket. */
int serve_activation_fd(void);

/* Names to ids for the --allow-user and --allow-group flags (a name or a
 * number). Return 0 or -1. */
int serve_user_id(const char* name, uint32_t* uid);
int serve_group_id(const char* name, uint32_t* gid);

/* Decodes standard base64 (padding optional) onto b, as the protocol's
 * *_b64 fields carry bytes. Returns 0 or -1. */
int serve_b64_decode(const char* s, capsid__buf_t* b);

#endif
