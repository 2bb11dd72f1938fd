#include "outbuf.h"

#include <stdio.h>
#include <string.h>

void capsid__outbuf_init(capsid__outbuf_t* ob, uint64_t cap) {
  memset(ob, 0, sizeof(*ob));
  if (cap > (uint64_t)(SIZE_MAX / 2))
    cap = SIZE_MAX / 2;
  ob->cap = cap;
  ob->head_cap = (size_t)(cap / 2);
  ob->tail_cap = (size_t)(cap - ob->head_cap);
}


/* Grows *buf to hold want bytes, doubling, never past limit. */
static int grow(char** buf, size_t* alloc, size_t want, size_t limit) {
  size_t n;
  char* p;

  if (want <= *alloc)
    return 0;
  n = *alloc ? *alloc : 4096;
  while (n < want)
    n *= 2;
  if (n > limit)
    n = limit;
  p = capsid__realloc(*buf, n);
  if (p == NULL)
    return -1;
  *buf = p;
  *alloc = n;
  return 0;
}


static void tail_write(capsid__outbuf_t* ob, const char* data, size_t len) {
  size_t room, idx, chunk;

  if (ob->tail_cap == 0)
    return;
  /* Only the last tail_cap bytes of this write can survive. */
  if (len > ob->tail_cap) {
    data += len - ob->tail_cap;
    len = ob->tail_cap;
  }
  if (ob->tail_len < ob->tail_cap) {
    room = ob->tail_cap - ob->tail_len;
    chunk = len < room ? len : room;
    if (grow(&ob->tail, &ob->tail_alloc, ob->tail_len + chunk,
             ob->tail_cap) != 0) {
      ob->oom = 1;
      return;
    }
    memcpy(ob->tail + ob->tail_len, data, chunk);
    ob->tail_len += chunk;
    data += chunk;
    len -= chunk;
    if (len == 0)
      return;
  }
  /* The ring is full: overwrite the oldest bytes. */
  while (len > 0) {
    idx = ob->tail_start;
    chunk = ob->tail_cap - idx;
    if (chunk > len)
      chunk = len;
    memcpy(ob->tail + idx, data, chunk);
    ob->tail_start = (idx + chunk) % ob->tail_cap;
    data += chunk;
    len -= chunk;
  }
}


void capsid__outbuf_write(capsid__outbuf_t* ob, const char* data,
                          size_t len) {
  size_t room, chunk;

  ob->total += len;
  if (ob->head_len < ob->head_cap) {
    room = ob->head_cap - ob->head_len;
    chunk = len < room ? len : room;
    if (grow(&ob->head, &ob->head_alloc, ob->head_len + chunk,
             ob->head_cap) != 0) {
      ob->oom = 1;
      return;
    }
    memcpy(ob->head + ob->head_len, data, chunk);
    ob->head_len += chunk;
    data += chunk;
    len -= chunk;
  }
  if (len > 0)
    tail_write(ob, data, len);
}


int capsid__outbuf_finish(capsid__outbuf_t* ob, capsid_output_t* out) {
  char marker[96];
  size_t mlen = 0, kept, n, first;
  char* p;

  memset(out, 0, sizeof(*out));
  kept = ob->head_len + ob->tail_len;
  out->total = ob->total;
  out->dropped = ob->total - kept;
  out->truncated = out->dropped > 0;
  if (out->truncated)
    mlen = (size_t)snprintf(marker, sizeof(marker),
                            "\n[capsid: %llu bytes dropped]\n",
                            (unsigned long long)out->dropped);
  n = kept + mlen;
  p = capsid__malloc(n + 1);
  if (p == NULL) {
    capsid__outbuf_free(ob);
    return CAPSID_ENOMEM;
  }
  /* memcpy with a NULL source is undefined even for zero bytes, and an
   * unused half is NULL, hence the guards. */
  if (ob->head_len > 0)
    memcpy(p, ob->head, ob->head_len);
  memcpy(p + ob->head_len, marker, mlen);
  /* Unroll the ring: oldest byte at tail_start once it has wrapped. */
  first = ob->tail_len - ob->tail_start;
  if (first > 0)
    memcpy(p + ob->head_len + mlen, ob->tail + ob->tail_start, first);
  if (ob->tail_start > 0)
    memcpy(p + ob->head_len + mlen + first, ob->tail, ob->tail_start);
  p[n] = '\0';
  out->data = p;
  out->len = n;
  capsid__outbuf_free(ob);
  return 0;
}


void capsid__outbuf_free(capsid__outbuf_t* ob) {
  capsid__free(ob->head);
  capsid__free(ob->tail);
  ob->head = NULL;
  ob->tail = NULL;
  ob->head_len = ob->tail_len = ob->tail_start = 0;
  ob->head_alloc = ob->tail_alloc = 0;
}
