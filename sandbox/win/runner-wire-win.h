/* The frames capsid and its runner exchange over the runner's named pipe
 * (runner-wire-win.c): a 4-byte little-endian length, then a body of
 * fields, each a 32-bit value or a length-prefixed byte string. One
 * request goes to the runner, one answer comes back; nothing else is
 * read from the pipe, so a field that does not parse ends the exchange.
 *
 * Request: version, flags, application, command line, cwd and
 *   environment block (UTF-16, terminators included; first, so they stay
 *   2-byte aligned in the frame), the runner's expected user SID, the
 *   restricting SIDs (count, then each), the program and cwd in UTF-8
 *   for error messages, then the three stdio handles' values in the
 *   runner (capsid duplicated them into it).
 * Answer: version, error code (0 = started), stage, OS error, the job
 *   process's id, overridden, then the error's path, field and message. */
#ifndef CAPSID_RUNNER_WIRE_WIN_H
#define CAPSID_RUNNER_WIRE_WIN_H

#include "capsid-common.h"

#include <winsock2.h> /* before windows.h, as libuv includes it */
#include <windows.h>

#include <stdint.h>

#define CAPSID__WIRE_VERSION 1u
/* The largest frame either side accepts: a command line is at most 32767
 * UTF-16 units, and an environment block a few hundred KiB at worst. */
#define CAPSID__WIRE_MAX (4u << 20)
/* How long capsid waits for the runner to connect and to answer. Logging
 * a user on with its profile can take seconds on a cold machine. */
#define CAPSID__WIRE_TIMEOUT_MS 15000u
/* Request flag: let verification failures through (honoured only by a
 * runner built for the Wine tests). */
#define CAPSID__WIRE_UNVERIFIED_OK 1u
/* Request flag: the job's token is the STRICT variant (token-win.h). */
#define CAPSID__WIRE_STRICT_TOKEN 2u

/* Appending fields; each returns 0 or CAPSID_ENOMEM. */
int capsid__wire_u32(capsid__buf_t* b, uint32_t v);
int capsid__wire_bytes(capsid__buf_t* b, const void* p, size_t n);
/* A UTF-8 string without its NUL; NULL is sent as empty. */
int capsid__wire_str(capsid__buf_t* b, const char* s);

/* Reading fields: a read past the end, or a malformed field, sets bad and
 * returns 0 / NULL from then on. */
typedef struct capsid__wire_rd_s {
  const uint8_t* p;
  size_t left;
  int bad;
} capsid__wire_rd_t;

uint32_t capsid__wire_get_u32(capsid__wire_rd_t* r);
const void* capsid__wire_get_bytes(capsid__wire_rd_t* r, size_t* n);
/* A copy of a string field (capsid__free it); NULL when empty or bad. */
char* capsid__wire_get_str(capsid__wire_rd_t* r);
/* A UTF-16 field that must end in a NUL (and, with block set, in two:
 * an environment block). Points into the frame. */
const WCHAR* capsid__wire_get_wstr(capsid__wire_rd_t* r, int block);

/* Sends b as one frame / receives one frame into out (freed by the
 * caller). The handle may be overlapped. The wait ends early with
 * CAPSID_ESPAWN when process (if not NULL) exits, and with
 * CAPSID_ETIMEDOUT after timeout_ms (INFINITE: no limit). */
int capsid__wire_send(HANDLE pipe, const capsid__buf_t* b, HANDLE process,
                      DWORD timeout_ms);
int capsid__wire_recv(HANDLE pipe, capsid__buf_t* out, HANDLE process,
                      DWORD timeout_ms);
/* Waits for the overlapped operation ov started on h; the same early
 * ends as above. 0 when it completed. */
int capsid__wire_wait(HANDLE h, OVERLAPPED* ov, HANDLE process,
                      DWORD timeout_ms);

#endif
