/* Streamed stdin (capsid_job_write_stdin) and the spawn notice: bytes a
 * caller feeds a running job, queued on the job's stdin pipe with a
 * bound, held in order while the job waits for its turn. */
#include "runtime-int.h"

#include <string.h>

typedef struct stdin_chunk_s {
  capsid__list_t link;  /* in job->stdin_held until it goes to the pipe */
  uv_write_t req;
  capsid_job_t* job;
  capsid_stdin_cb cb;
  void* data;
  size_t len;
  char bytes[];
} stdin_chunk_t;

#define CHUNK_OF(l) CAPSID__CONTAINER_OF(l, stdin_chunk_t, link)


static void chunk_done(stdin_chunk_t* ch, int status) {
  capsid_job_t* job = ch->job;

  job->stdin_queued -= ch->len;
  if (ch->cb != NULL)
    ch->cb(job, status == 0 ? 0 : CAPSID_ECANCELED, ch->data);
  capsid__free(ch);
}


void capsid__job_stdin_written(capsid__capture_t* cap, uv_write_t* req,
                               int status) {
  (void)cap;
  chunk_done(CAPSID__CONTAINER_OF(req, stdin_chunk_t, req), status);
}


/* The pipe takes the chunk, or is closed: then it stays held and is
 * canceled with the rest when the job ends. */
static int chunk_send(capsid_job_t* job, stdin_chunk_t* ch) {
  return capsid__capture_stdin_write(&job->capture, &ch->req, ch->bytes,
                                     ch->len);
}


static int pipe_ready(const capsid_job_t* job) {
  return job->capture_live && job->capture.started;
}


void capsid__job_stdin_flush(capsid_job_t* job) {
  stdin_chunk_t* ch;

  if (!job->stdin_stream)
    return;
  while (!capsid__list_empty(&job->stdin_held)) {
    ch = CHUNK_OF(job->stdin_held.next);
    if (chunk_send(job, ch) != 0)
      return;
    capsid__list_remove(&ch->link);
  }
  if (job->stdin_eof)
    capsid__capture_stdin_end(&job->capture);
}


void capsid__job_stdin_cancel(capsid_job_t* job) {
  stdin_chunk_t* ch;

  while (job->stdin_stream && !capsid__list_empty(&job->stdin_held)) {
    ch = CHUNK_OF(job->stdin_held.next);
    capsid__list_remove(&ch->link);
    chunk_done(ch, CAPSID_ECANCELED);
  }
}


int capsid_job_write_stdin(capsid_job_t* job, const char* bytes, size_t len,
                           int eof, capsid_stdin_cb on_written, void* data) {
  stdin_chunk_t* ch;

  if (job == NULL || !job->stdin_stream || job->stdin_eof ||
      (bytes == NULL && len > 0))
    return CAPSID_EINVAL;
  /* Ended, or its stdin pipe is gone: nobody will read what comes now. */
  if (job->state == JOB_CLOSING || job->state == JOB_DONE ||
      (pipe_ready(job) && job->capture.in.data != NULL &&
       uv_is_closing((uv_handle_t*)&job->capture.in)))
    return CAPSID_ECANCELED;
  if (len > 0 && job->stdin_queued > 0 &&
      (len > CAPSID_STDIN_QUEUE_LIMIT ||
       job->stdin_queued > CAPSID_STDIN_QUEUE_LIMIT - len))
    return CAPSID_EAGAIN;
  if (len > 0) {
    ch = capsid__malloc(sizeof(*ch) + len);
    if (ch == NULL)
      return CAPSID_ENOMEM;
    memset(ch, 0, sizeof(*ch));
    ch->job = job;
    ch->cb = on_written;
    ch->data = data;
    ch->len = len;
    memcpy(ch->bytes, bytes, len);
    capsid__list_init(&ch->link);
    if (pipe_ready(job) && capsid__list_empty(&job->stdin_held)) {
      if (chunk_send(job, ch) != 0) {
        capsid__free(ch);
        return CAPSID_ECANCELED;
      }
    } else {
      capsid__list_push(&job->stdin_held, &ch->link);
    }
    job->stdin_queued += len;
  }
  if (eof) {
    job->stdin_eof = 1;
    if (pipe_ready(job) && capsid__list_empty(&job->stdin_held))
      capsid__capture_stdin_end(&job->capture);
  }
  return 0;
}


void capsid__job_on_spawn(capsid_job_t* job, capsid__spawn_cb cb) {
  if (job->proc_started) {
    cb(job, job->result.pid, job->result.mode, job->data);
    return;
  }
  job->on_spawn = cb;
}
