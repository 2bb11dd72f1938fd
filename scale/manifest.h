/* A batch's manifest: which lines of a job file `capsid submit` put on a
 * stream, under which batch id, so that `capsid collect --manifest` knows
 * exactly which jobs it waits for, can say which have no result, and can
 * submit just those again from the job file. JSON lines:
 *
 *   {"capsid_manifest":1,"batch":"1765...-9f2c...","stream":"jobs"}
 *   {"line":1,"id":"j0","entry":"1765...-0"}     added
 *   {"line":2,"id":"j1","skipped":"1764...-..."}  its id was in another
 *                                                 batch: not expected
 *   {"line":3,"id":null,"refused":"ERR ..."}      Redis refused it
 *   {"line":4,"id":"j3","unconfirmed":true}       submit failed first
 *
 * "id" is the line's "id" as JSON (null when it had none). Results are
 * matched to manifest lines by line number: a job's entry, its result and
 * any resubmission of it carry the line number of the job file. */
#ifndef CAPSID_SCALE_MANIFEST_H
#define CAPSID_SCALE_MANIFEST_H

#include <stddef.h>
#include <stdio.h>

typedef struct scale_manifest_line_s {
  long line;
  char* id;    /* the job's "id" as JSON text, or NULL */
  int skipped; /* in another batch: no result expected in this one */
  int got;     /* collect: its result was handed over */
} scale_manifest_line_t;

typedef struct scale_manifest_s {
  char* batch;
  char* stream;
  scale_manifest_line_t* lines; /* by line number, ascending */
  size_t n;
} scale_manifest_t;

/* What became of a submitted line (scale_manifest_write_line). */
enum {
  SCALE_MANIFEST_ADDED,
  SCALE_MANIFEST_SKIPPED,
  SCALE_MANIFEST_REFUSED,
  SCALE_MANIFEST_UNCONFIRMED
};

/* Writing, one call per line as submit learns its fate: the header, then
 * the lines. what: the entry id (ADDED), the other batch (SKIPPED), the
 * error (REFUSED), NULL (UNCONFIRMED). Return 0 or -1 (errno). */
int scale_manifest_write_header(FILE* f, const char* batch,
                                const char* stream);
int scale_manifest_write_line(FILE* f, long line, const char* text,
                              size_t len, int fate, const char* what);

/* Reads path. Returns 0, or CAPSID_EINVAL / CAPSID_EIO / CAPSID_ENOMEM
 * with one sentence in err naming the file (and the line). */
int scale_manifest_load(const char* path, scale_manifest_t* m, char* err,
                        size_t err_size);
void scale_manifest_free(scale_manifest_t* m);
/* The line of that number, or NULL. */
scale_manifest_line_t* scale_manifest_find(const scale_manifest_t* m,
                                           long line);
/* Lines whose result is expected (not skipped), and of those, the ones
 * still without one. */
long scale_manifest_expected(const scale_manifest_t* m);
long scale_manifest_missing(const scale_manifest_t* m);

#endif
