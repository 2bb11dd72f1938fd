/* One result of the batch format, as a single line of JSON:
 *
 *   {"id":"a1","line":1,"exit_code":0,"signal":null,"timed_out":false,
 *    "oom":false,"killed":false,"duration_ms":12.5,"cpu_ms":3.1,
 *    "user_cpu_ms":2.0,"system_cpu_ms":1.1,
 *    "started_at":"2026-12-06T22:30:01.123Z","pid":4242,"peak_memory":1234,"mode":"unprivileged","limits":"cgroup",
 *    "pids_limited":false,"stdout_truncated":false,
 *    "stderr_truncated":false,"stdout_dropped":0,"stderr_dropped":0,
 *    "error":null,"stdout":"...","stderr":"..."}
 *
 * Output that is valid UTF-8 and cheap to escape is given as text. Other
 * output is given twice: "stdout_b64" with the exact bytes, and "stdout"
 * as readable text (each bad byte replaced by U+FFFD), cut short where it
 * would make the stream cost more than CLI_RESULT_STREAM_FACTOR times its
 * bytes. */
#ifndef CAPSID_SCALE_RESULTLINE_H
#define CAPSID_SCALE_RESULTLINE_H

#include "capsid-common.h"
#include "log.h"

#include <jansson.h>
#include <stdio.h>

/* A stream of n captured bytes takes at most n * FACTOR + SLACK bytes of
 * its result line (its key names aside), whatever bytes they are. */
#define CLI_RESULT_STREAM_FACTOR 3
#define CLI_RESULT_STREAM_SLACK 64

/* Fills r as the result of a job that never ran because of err (moved
 * out of err): exit code -1, no memory figure, mode none. */
void scale_result_of_error(capsid_result_t* r, capsid_error_t* err);
/* A path as a JSON string: file names need not be UTF-8, JSON strings
 * must be, so invalid sequences become U+FFFD. */
json_t* scale_json_path(const char* path);
/* Builds the object. id may be NULL; line <= 0 omits "line". */
json_t* scale_result_json(json_t* id, long line, const capsid_result_t* r);
/* The error object {code, message, line, field, stage, path, os_error}. */
json_t* scale_error_json(const capsid_error_t* err, long line);
/* Writes a result as one line to f and flushes; the same JSON as
 * scale_result_json, but megabytes of output are escaped without building a
 * JSON tree. Returns 0 or -1. */
int scale_result_write(FILE* f, json_t* id, long line,
                       const capsid_result_t* r);
/* As scale_result_write, with the members of extra (may be NULL) added
 * after the small fields. */
int scale_result_write_ex(FILE* f, json_t* id, long line,
                          const capsid_result_t* r,
                          json_t* extra);
/* A wall-clock time (Unix epoch, µs) as RFC 3339 UTC with milliseconds:
 * "2026-12-06T22:30:01.123Z". Returns buf. */
char* scale_rfc3339(int64_t unix_us, char* buf, size_t size);
/* Appends the same JSON as scale_result_write to b, without a newline, with
 * the members of extra (may be NULL) added after the small fields. Returns
 * 0 or -1. */
int scale_result_format(capsid__buf_t* b, json_t* id, long line,
                        const capsid_result_t* r, json_t* extra);
/* Appends s as a quoted JSON string, replacing invalid UTF-8 with U+FFFD;
 * *valid says whether any replacement was needed. */
int scale_json_escape(capsid__buf_t* b, const char* s, size_t len, int* valid);

/* Writes obj as one line to stdout and flushes. Returns 0 or -1. */
int scale_print_json_line(json_t* obj);

/* Exposed for tests. */
int scale_utf8_valid(const char* s, size_t len);
char* scale_utf8_lossy(const char* s, size_t len, size_t* out_len);
char* scale_base64(const char* s, size_t len);

#endif
