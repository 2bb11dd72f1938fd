/* The thin-client mode of `capsid run` and `capsid batch`: the same
 * command line, the job run by a `capsid serve` (--server ADDR or
 * CAPSID_SERVER=ADDR, ADDR being unix:/path/to.sock), with the same
 * output and exit status as a local run. */
#ifndef CAPSID_CLI_CLIENT_H
#define CAPSID_CLI_CLIENT_H

#include "capsid-common.h"

#include <jansson.h>
#include <uv.h>

typedef struct cli_client_s cli_client_t;

/* Called for each event line: ev parsed, text/len the line as sent. ev is
 * NULL when the connection ended (or failed: then err is set). */
typedef void (*cli_client_event_cb)(cli_client_t* c, json_t* ev,
                                    const char* text, size_t len);

struct cli_client_s {
  uv_loop_t* loop;
  uv_pipe_t pipe;
  uv_connect_t connect;
  capsid__buf_t in;
  cli_client_event_cb on_event;
  void* data;
  int connected;
  int closed;
  int err;  /* a libuv error that ended the connection, or 0 */
};

/* CAPSID_SERVER, when set and not empty; --server wins over it. */
const char* cli_client_env_addr(void);

/* Connects to addr ("unix:/path") on loop; on_event gets the events.
 * Returns 0 or a libuv error (a bad address: UV_EINVAL). */
int cli_client_connect(cli_client_t* c, uv_loop_t* loop, const char* addr,
                       cli_client_event_cb on_event, void* data);
/* Sends {"v":1, ...req} as one line; steals req. */
int cli_client_send(cli_client_t* c, json_t* req);
void cli_client_close(cli_client_t* c);

/* The "result" of an exit event, as the exact bytes the server sent
 * (a batch result line). Returns 0 and sets *start and *n, or -1. */
int cli_client_exit_result(const char* text, size_t len, const char** start,
                           size_t* n);
/* Fills what cli_exit_status and the messages of run need from a result
 * object: exit code, signal, timed_out, oom, mode, error code/message. */
void cli_client_result_of(json_t* result, capsid_result_t* r);

/* The job object of spec in the batch-line format, with what depends on
 * the client's process made explicit: an absolute cwd, and the
 * environment the local job would get (capsid's own unless replace, the
 * job's on top) with "env_mode":"replace", so the server's environment
 * plays no part. */
/* policy: the line's "policy" value (a parsed job line keeps only the
 * parsed policy), or NULL for spec->policy. */
json_t* cli_client_job_json(const capsid_job_spec_t* spec, json_t* id,
                            json_t* policy);
/* A run request for spec; line > 0 goes into the result; stdin travels
 * as base64. */
json_t* cli_client_run_request(const capsid_job_spec_t* spec, json_t* id,
                               json_t* policy, long line, int stream);

/* The hooks of run and batch, after their options are parsed: run the
 * command through the server at addr and return its exit status, with
 * the output the local command would print. */
struct cli_passthru_s;
struct cli_batch_opts_s;
int cli_client_run(const char* addr, const capsid_job_spec_t* spec,
                   int json, uint64_t grace_ms, struct cli_passthru_s* pass);
int cli_client_batch(const char* addr, int fd,
                     const struct cli_batch_opts_s* opt);

#endif
