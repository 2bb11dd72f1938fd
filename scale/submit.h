/* The submit engine: pushes job lines onto a Redis stream, one entry per
 * line: {job: LINE, line: N, submit: BATCH}, BATCH being this run's
 * batch id ("MS-HEX", MS Redis' clock when it began), which workers copy
 * into each result so that `capsid collect --batch` reads only those. The lines are not validated
 * here: the worker that takes a bad line answers it with an error result
 * that names the line and the field, exactly as `capsid batch` would.
 * `capsid submit` is this engine fed from its input.
 *
 * Redis failures that retrying may cure are ridden out with backoff
 * without losing or doubling a line (submit.c says how). The engine says
 * what goes wrong on stderr, each line prefixed "capsid submit: ". */
#ifndef CAPSID_SCALE_SUBMIT_H
#define CAPSID_SCALE_SUBMIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct scale_submit_config_s {
  const char* redis;  /* a Redis URL (redis-url.h) */
  const char* stream; /* the job stream, not empty */
  /* Idempotency: a line whose "id" was submitted to this stream within
   * the last id_window_ms (by any run) is skipped, not added again; the
   * ids are kept as keys "STREAM:id:ID" that expire after the window.
   * 0: every line is added. */
  uint64_t id_window_ms;
  /* Add the lines to this batch (an id capsid submit printed) instead of
   * a new one: resubmitting a batch's lost jobs. NULL: a new batch. */
  const char* batch;
  /* Told the fate of each line once it is known (manifest.h's
   * SCALE_MANIFEST_*; what: the entry id, the other batch or the error;
   * NULL when unconfirmed); may be NULL. */
  void (*on_line)(long number, const char* text, size_t len, int fate,
                  const char* what, void* data);
  void* data;
} scale_submit_config_t;

typedef struct scale_submit_s scale_submit_t;

/* Checks cfg and makes a submitter (no connection yet; cfg's strings
 * must outlive it). Returns 0; CAPSID_EINVAL with one sentence in err
 * ("--redis: ..."); or CAPSID_ENOMEM. */
int scale_submit_new(const scale_submit_config_t* cfg, scale_submit_t** out,
                     char* err, size_t err_size);
/* Connects, so that a server that refuses for good is said before any
 * input is read. Returns 0, or -1 after a failure retrying cannot cure. */
int scale_submit_start(scale_submit_t* s);
/* Queues one line (text is copied), sending a pipeline's worth at a
 * time. Returns 0, or -1 once submitting has failed for good: stop. */
int scale_submit_line(scale_submit_t* s, long number, const char* text,
                      size_t len);
/* Sends what is still owed and says which lines, if any, were never
 * confirmed. Returns 0 when every line was added, 1 otherwise. */
int scale_submit_finish(scale_submit_t* s);
/* This run's batch id, or NULL before the first connection. */
const char* scale_submit_batch(const scale_submit_t* s);
/* Lines skipped because their id was submitted within the window. */
long scale_submit_skipped(const scale_submit_t* s);
/* Lines confirmed in the stream so far. */
long scale_submit_added(const scale_submit_t* s);
void scale_submit_free(scale_submit_t* s);

#endif
