/* What one worker holds, shared by the files of the worker engine. One
 * worker process, one loop, two Redis connections (a blocking XREADGROUP
 * would hold up every other command on its socket, so reads have a
 * connection of their own), one runtime.
 *
 * Life of a job entry:
 *   read (XREADGROUP >) or claimed (XAUTOCLAIM)  -> worker_entry_take
 *   -> running in the runtime (or an error result at once for a bad line)
 *   -> result queued as output: XADD results, then XACK the job
 *   -> freed when the XACK is confirmed.
 * A dead-letter job's output is two XADDs (dead-letter stream, error
 * result) and then the XACK. A job handed back on shutdown is not acked:
 * its idle time is pushed past every worker's claim threshold instead.
 *
 * The engine's files call one another in one direction only:
 *   worker.c (the loop: reading, ticks, signals, shutdown)
 *     -> worker-retention.c (trimming; calls nothing below)
 *     -> worker-cancel.c (capsid cancel: reading the set, killing)
 *     -> worker-claim.c (XAUTOCLAIM, heartbeat)
 *       -> worker-entry.c (entry to job, job to result)
 *         -> worker-output.c (XADD-then-XACK)
 *           -> worker-state.c (this header: the held list, errors)
 * A lower file reaches the loop only through the hooks worker.c sets in
 * worker_t (worker_pump and worker_fatal below call them). */
#ifndef CAPSID_SCALE_WORKER_STATE_H
#define CAPSID_SCALE_WORKER_STATE_H

#include "jobline.h"
#include "redis-conn.h"
#include "redis-retry.h"

#include <uv.h>

#define WORKER_MAX_ADDS 2
#define WORKER_MAX_FIELDS 12
/* The most a job entry may hold, its field names and values together: a
 * job line as long as submit takes (CLI_MAX_LINE) and room for the other
 * fields. A larger entry is dead-lettered without being read whole
 * (worker-claim.c, redis-guard.h). */
#define WORKER_MAX_ENTRY (CLI_MAX_LINE + ((size_t)64 << 10))

/* A stream entry as the worker needs it, copied out of a reply. */
typedef struct worker_entry_s {
  char* id;
  char* job;     /* the "job" field, or NULL when missing */
  size_t job_len;
  long line;     /* the "line" field, or 0 */
  char* batch;   /* the "submit" field (capsid submit's batch id), or NULL */
  /* Larger than WORKER_MAX_ENTRY: its size in bytes (job is then NULL:
   * it was not read, or not kept); 0 otherwise. */
  size_t oversize;
} worker_entry_t;

/* One XADD: the stream and field/value pairs (owned), and once Redis
 * confirmed it, the id it gave the entry (checked again before the XACK:
 * worker-output.c). */
typedef struct worker_add_s {
  const char* stream; /* borrowed from the worker */
  int nfields;        /* names and values, so even */
  char* fields[WORKER_MAX_FIELDS];
  size_t lens[WORKER_MAX_FIELDS];
  int written;        /* confirmed */
  char rid[48];       /* the entry's id, "" when the reply had none */
} worker_add_t;

enum {
  WJ_RUNNING,  /* in the runtime (queued or running) */
  WJ_OUTPUT,   /* result ready: XADDs then XACK */
  WJ_REQUEUE,  /* hand back to the group without a result */
  WJ_RETRY     /* failed; runs again here at retry_at (--retries) */
};

typedef struct worker_s worker_t;

typedef struct worker_job_s {
  struct worker_job_s* prev;
  struct worker_job_s* next;
  worker_t* w;
  worker_entry_t entry;
  scale_jobline_t jl;
  int have_jl;
  capsid_job_t* job;  /* while WJ_RUNNING and started */
  int state;
  int inflight;       /* a command for this job awaits its reply */
  uint64_t retry_at;  /* after an error reply: not before this time */
  int kill_sent;
  worker_add_t adds[WORKER_MAX_ADDS];
  int nadds;
  int adds_done;
  /* Writing the result: connections lost while its XADD was in flight
   * (then it is sent alone: sent_alone), and of those, lost while alone;
   * replaced: the result was already swapped for a dead letter. */
  int losses;
  int alone_losses;
  int sent_alone;
  int replaced;
  int rewrites;       /* results found gone at the XACK and written again */
  int attempt;        /* 1 for the first run, then 2, ... */
  int canceled;       /* killed by capsid cancel: answer so */
  uint64_t log_ns;    /* --verbose: when its current stage began */
} worker_job_t;

struct worker_s {
  uv_loop_t loop;
  capsid_runtime_t* rt;
  scale_redis_conn_t* rconn; /* XGROUP CREATE, XREADGROUP */
  scale_redis_conn_t* wconn; /* XADD, XACK, XAUTOCLAIM, XPENDING, XCLAIM */
  uint64_t log_ns;           /* --verbose: start, then the read sent */
  const char* stream;
  char* results;
  char* dead;
  const char* group;
  char* consumer;
  unsigned jobs;
  uint64_t claim_idle_ms;
  long max_deliveries;
  uint64_t drain_ms;
  uint64_t command_timeout_ms;
  uint64_t max_result_bytes;
  unsigned retries;
  uint64_t retry_backoff_ms;

  worker_job_t held;      /* list head: every entry this worker holds */
  unsigned running;       /* held jobs in WJ_RUNNING */
  unsigned held_count;

  int read_inflight;
  uint64_t read_sent_ms;           /* when the read in flight was sent */
  /* A read was lost with its connection (dropped for a reply element
   * too large, or any loss): the entries it delivered are pending under
   * our name but not held; since then (> 0) they are to be fetched back,
   * size checked (worker_claim_orphans). */
  uint64_t orphans_since_ms;
  int orphans_inflight;
  uint64_t read_retry_at;          /* after a transient error: not before */
  scale_redis_backoff_t read_backoff;  /* XGROUP CREATE, XREADGROUP */
  scale_redis_backoff_t write_backoff; /* results, acks, claims */
  int fatal;                       /* a permanent error: stopping */
  int group_ready;
  int group_seen;                  /* the group existed or was made once */
  int claim_inflight;
  char claim_cursor[64];
  uint64_t last_claim_ms;
  uint64_t last_beat_ms;
  int beat_inflight;
  /* After a reconnect no claim pass before this time (worker.c says
   * why); wconn_seen: the write connection was ready once. */
  uint64_t claim_fence_ms;
  int wconn_seen;
  uint64_t results_ttl_ms;   /* 0: results are kept */
  /* The ids of "STREAM-cancel" as last read (worker-cancel.c). */
  char* cancel_key;
  char** cancel_ids;
  size_t ncancel;
  int cancel_inflight;
  int cancel_known;   /* read once: jobs may be taken */
  uint64_t last_cancel_ms;
  uint64_t last_retain_ms;
  int retain_inflight;

  uv_timer_t tick;        /* claims, heartbeats, retries */
  uv_timer_t drain;
  uv_signal_t sigterm;
  uv_signal_t sigint;
  int stopping;
  int killing;            /* the drain deadline passed */
  int closing;
  int conns_open;
  int exit_code;
  long results_written;

  /* The loop's own (worker.c sets them before anything runs). */
  void (*pump_hook)(worker_t* w);
  void (*fatal_hook)(worker_t* w, const char* what);
  /* Redis refuses a job's result for good (why says how): dead-letter
   * the job instead (worker-entry.c; set by worker.c). */
  void (*unwritable_hook)(worker_job_t* j, const char* why);
};

/* worker-state.c */
uint64_t worker_now_ms(void);
/* Whether capsid cancel named j: its entry id, batch or job id. */
int worker_job_canceled(const worker_t* w, const worker_job_t* j);
unsigned worker_free_slots(const worker_t* w);
void worker_entry_free(worker_entry_t* e);
/* Frees a held job (unlinks it). */
void worker_job_free(worker_job_t* j);
/* Reads more work when there is room; also ends the worker when it is
 * stopping and nothing is left (the loop's pump_hook). */
void worker_pump(worker_t* w);
/* A Redis error that retrying cannot cure (what says which): stop as on
 * SIGTERM, and exit 1 (the loop's fatal_hook). */
void worker_fatal(worker_t* w, const char* what);
/* An error reply to a write-side command (XADD, XACK, XCLAIM, ...): a
 * transient one is reported (at most every few seconds) and returns the
 * wait before the next try; a permanent one stops the worker and returns
 * a second. */
unsigned worker_write_failed(worker_t* w, const char* what,
                             const char* error);

#endif
