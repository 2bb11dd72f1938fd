/* The collect engine: reads a results stream from its start (or after a
 * given entry) and hands over the first result of each job, until COUNT
 * distinct jobs have a result. Delivery is at-least-once (a worker that
 * dies between writing a result and acknowledging its job leaves the job
 * to be run again), so a job may have several results in the stream; they
 * are told apart by the job's stream entry id ("entry"), which is unique
 * per submitted line even when job ids repeat or are missing. `capsid
 * collect` is this engine printing each result as one JSON line.
 *
 * Redis failures that retrying may cure are ridden out with backoff until
 * the timeout, said on stderr ("capsid collect: ...; retrying"). */
#ifndef CAPSID_SCALE_COLLECT_H
#define CAPSID_SCALE_COLLECT_H

#include <stddef.h>
#include <stdint.h>

#include "manifest.h"

#define SCALE_COLLECT_MAX_COUNT 1000000000L
/* The longest --from accepted, NUL included. */
#define SCALE_COLLECT_ID_SIZE 64

typedef struct scale_collect_config_s {
  const char* redis;   /* a Redis URL (redis-url.h) */
  const char* results; /* the results stream, not empty */
  long count;          /* distinct results wanted, 1 to MAX_COUNT */
  uint64_t timeout_ms; /* give up after this long; 0: wait for ever */
  const char* from;    /* read after this entry id; NULL: from the start */
  /* Only the results of this batch (capsid submit's batch id, "MS-HEX"),
   * read from where it began (its MS) unless from says otherwise; NULL:
   * every result. */
  const char* batch;
  /* A batch's manifest (manifest.h): its batch and only the lines it
   * lists are collected, each once (by line number, so a resubmitted
   * job counts as its line), until every expected line has a result;
   * count and batch are then ignored. Lines whose result is handed over
   * are marked got, so a second run goes on where this one stopped. */
  scale_manifest_t* manifest;
  /* The first result line of a job (text, len bytes, no newline). */
  void (*on_result)(const char* text, size_t len, void* data);
  /* After the results of one read were handed over; may be NULL. */
  void (*on_batch)(void* data);
  void* data;
} scale_collect_config_t;

typedef struct scale_collect_stats_s {
  long results;    /* distinct jobs whose result was handed over */
  long duplicates; /* further results of those jobs, skipped */
  long foreign;    /* entries without "entry" and "result", skipped */
  long other;      /* results of other batches, skipped */
} scale_collect_stats_t;

/* Collects until cfg->count results were handed over. Returns 0;
 * CAPSID_EINVAL when cfg is wrong (err names the option: "--redis: ...");
 * CAPSID_ETIMEDOUT when the timeout passed first ("timed out with 3 of 5
 * results from \"R\" after 30000 ms (go on with --from ID)"); CAPSID_ENOMEM; or CAPSID_EIO after a Redis failure
 * retrying cannot cure (err says which). stats is filled in every case. */
int scale_collect_run(const scale_collect_config_t* cfg,
                      scale_collect_stats_t* stats, char* err,
                      size_t err_size);

#endif
