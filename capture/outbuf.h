/* A capped output buffer that keeps the head and the tail of a stream.
 *
 * Memory grows with what arrives, up to the cap, so ten thousand idle jobs
 * with a 1 MiB cap cost nothing until they write. */
#ifndef CAPSID_OUTBUF_H
#define CAPSID_OUTBUF_H

#include "capsid-common.h"

typedef struct capsid__outbuf_s {
  uint64_t cap;       /* bytes of the stream that may be kept */
  size_t head_cap;    /* first half of cap */
  size_t tail_cap;    /* the rest */
  char* head;
  size_t head_len;
  size_t head_alloc;
  char* tail;         /* ring once full */
  size_t tail_len;    /* bytes held, <= tail_cap */
  size_t tail_start;  /* index of the oldest byte once the ring is full */
  size_t tail_alloc;
  uint64_t total;
  int oom;            /* an allocation failed; bytes were counted, not kept */
} capsid__outbuf_t;

void capsid__outbuf_init(capsid__outbuf_t* ob, uint64_t cap);
/* Adds bytes. Never fails: if memory runs out the bytes are counted as
 * dropped and ob->oom is set. */
void capsid__outbuf_write(capsid__outbuf_t* ob, const char* data, size_t len);
/* Builds the final output (head, a marker line if anything was dropped,
 * tail) into out and releases the buffer. */
int capsid__outbuf_finish(capsid__outbuf_t* ob, capsid_output_t* out);
void capsid__outbuf_free(capsid__outbuf_t* ob);

#endif
