#include "linereader.h"

#include "compat.h"
#include "jobline.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct cli_linereader_s {
  uv_async_t async;
  uv_thread_t thread;
  uv_mutex_t mutex;
  uv_cond_t cond;
  int fd;
  unsigned capacity;
  unsigned count;
  cli_line_t* head;
  cli_line_t* tail;
  int eof;
  int stopping;
  int joined;
  void (*on_ready)(cli_linereader_t* r, void* data);
  void* data;
};


/* The reader thread's sink (cli_lines_read): queues the line, waiting
 * while `capacity` lines wait. Returns 1, dropping the line, once the
 * reader is closing, which ends the reading. */
static int push(cli_line_t* line, void* data) {
  cli_linereader_t* r = data;

  uv_mutex_lock(&r->mutex);
  while (r->count >= r->capacity && !r->stopping)
    uv_cond_wait(&r->cond, &r->mutex);
  if (r->stopping) {
    uv_mutex_unlock(&r->mutex);
    capsid__free(line);
    return 1;
  }
  if (r->tail != NULL)
    r->tail->next = line;
  else
    r->head = line;
  r->tail = line;
  r->count++;
  /* Under the mutex, so none comes after cli_linereader_close. */
  uv_async_send(&r->async);
  uv_mutex_unlock(&r->mutex);
  return 0;
}


static cli_line_t* make_line(const char* text, size_t len, long number) {
  cli_line_t* line = capsid__malloc(sizeof(*line) + len + 1);

  if (line == NULL)
    return NULL;
  memset(line, 0, sizeof(*line));
  line->number = number;
  line->len = len;
  memcpy(line->text, text, len);
  line->text[len] = '\0';
  return line;
}


static int is_blank(const char* s, size_t len) {
  size_t i;

  for (i = 0; i < len; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
      return 0;
  return 1;
}


/* Hands the accumulated line (or an over-long marker) to sink; blank
 * lines separate nothing and are not jobs. Returns what sink returned. */
static int emit(capsid__buf_t* acc, long number, int too_long,
                int (*sink)(cli_line_t* line, void* data), void* data) {
  cli_line_t* line;

  if (!too_long && is_blank(acc->data ? acc->data : "", acc->len))
    return 0;
  line = make_line(too_long ? "" : acc->data, too_long ? 0 : acc->len,
                   number);
  if (line == NULL)
    return 0;
  line->too_long = too_long;
  return sink(line, data);
}


void cli_lines_read(int fd, int (*sink)(cli_line_t* line, void* data),
                    void* data) {
  capsid__buf_t acc = {0};
  char chunk[65536];
  long number = 1;
  int too_long = 0, stop = 0;
  ssize_t n;
  char* p;
  char* nl;
  size_t take;

  while (!stop) {
    n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      if (n < 0) {
        cli_line_t* line = make_line("", 0, number);
        if (line != NULL) {
          line->read_error = errno;
          sink(line, data);
        }
      } else if (acc.len > 0 || too_long) {
        emit(&acc, number, too_long, sink, data);
      }
      break;
    }
    p = chunk;
    while (n > 0 && !stop) {
      nl = memchr(p, '\n', (size_t)n);
      take = nl ? (size_t)(nl - p) : (size_t)n;
      if (!too_long) {
        if (acc.len + take > CLI_MAX_LINE) {
          too_long = 1;
          capsid__buf_free(&acc);
        } else if (capsid__buf_append(&acc, p, take) != 0) {
          too_long = 1; /* out of memory: refuse the line, keep going */
          capsid__buf_free(&acc);
        }
      }
      if (nl == NULL)
        break;
      stop = emit(&acc, number, too_long, sink, data);
      number++;
      too_long = 0;
      acc.len = 0;
      n -= (ssize_t)(take + 1);
      p = nl + 1;
    }
  }
  capsid__buf_free(&acc);
}


static void reader_main(void* arg) {
  cli_linereader_t* r = arg;

  cli_lines_read(r->fd, push, r);
  uv_mutex_lock(&r->mutex);
  r->eof = 1;
  /* A reader closed while it was blocked in read() (an interrupted batch
   * whose input is still open) must not wake a loop that may be gone:
   * the input can end after capsid has closed it, as it exits. */
  if (!r->stopping)
    uv_async_send(&r->async);
  uv_mutex_unlock(&r->mutex);
}


int cli_input_open(capsid__args_t* a) {
  const char* input = "-";
  int fd;

  if (a->index < a->argc)
    input = a->argv[a->index++];
  if (a->index < a->argc) {
    fprintf(stderr, "%s: one input at most (got \"%s\" too)\n", a->cmd,
            a->argv[a->index]);
    return -1;
  }
  if (strcmp(input, "-") == 0) {
    /* Otherwise a newcomer who typed just the command sees nothing
     * happen and wonders what capsid waits for. */
    if (isatty(0))
      fprintf(stderr, "%s: reading jobs from the terminal, one JSON object "
              "per line; end with ^D (see '%s --help')\n", a->cmd, a->cmd);
    return 0;
  }
  fd = open(input, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    fprintf(stderr, "%s: cannot open \"%s\": %s\n", a->cmd, input,
            strerror(errno));
  return fd;
}


static void async_cb(uv_async_t* handle) {
  cli_linereader_t* r = handle->data;

  r->on_ready(r, r->data);
}


int cli_linereader_start(uv_loop_t* loop, int fd, unsigned capacity,
                         void (*on_ready)(cli_linereader_t* r, void* data),
                         void* data, cli_linereader_t** out) {
  cli_linereader_t* r = capsid__calloc(1, sizeof(*r));

  if (r == NULL)
    return CAPSID_ENOMEM;
  r->fd = fd;
  r->capacity = capacity ? capacity : 1;
  r->on_ready = on_ready;
  r->data = data;
  uv_mutex_init(&r->mutex);
  uv_cond_init(&r->cond);
  uv_async_init(loop, &r->async, async_cb);
  r->async.data = r;
  if (uv_thread_create(&r->thread, reader_main, r) != 0) {
    uv_close((uv_handle_t*)&r->async, NULL);
    r->joined = 1;
    r->eof = 1;
  }
  *out = r;
  return 0;
}


cli_line_t* cli_linereader_take(cli_linereader_t* r, int* eof) {
  cli_line_t* line;

  uv_mutex_lock(&r->mutex);
  line = r->head;
  if (line != NULL) {
    r->head = line->next;
    if (r->head == NULL)
      r->tail = NULL;
    r->count--;
    uv_cond_signal(&r->cond);
  }
  *eof = line == NULL && r->eof;
  uv_mutex_unlock(&r->mutex);
  return line;
}


static void reader_closed(uv_handle_t* handle) {
  cli_linereader_t* r = handle->data;
  cli_line_t* line;

  while ((line = r->head) != NULL) {
    r->head = line->next;
    capsid__free(line);
  }
  uv_cond_destroy(&r->cond);
  uv_mutex_destroy(&r->mutex);
  capsid__free(r);
}


void cli_linereader_close(cli_linereader_t* r) {
  int eof;

  uv_mutex_lock(&r->mutex);
  r->stopping = 1;
  eof = r->eof;
  uv_cond_broadcast(&r->cond);
  uv_mutex_unlock(&r->mutex);
  /* A thread still blocked in read() on a terminal or an idle pipe cannot
   * be woken portably; only join it when it has finished. An unfinished
   * reader only happens when capsid is interrupted, and the process exits
   * right after. */
  if (!r->joined && eof) {
    uv_thread_join(&r->thread);
    r->joined = 1;
  }
  if (!uv_is_closing((uv_handle_t*)&r->async))
    uv_close((uv_handle_t*)&r->async, r->joined ? reader_closed : NULL);
}


int cli_line_unreadable(const cli_line_t* line, capsid_error_t* err) {
  if (line->read_error != 0) {
    capsid__error_set(err, CAPSID_EIO, CAPSID_STAGE_SPEC, line->read_error,
                      NULL, NULL, "reading the input failed at line %ld",
                      line->number);
    return 1;
  }
  if (line->too_long) {
    capsid__error_set(err, CAPSID_ETOOLONG, CAPSID_STAGE_SPEC, 0, NULL, NULL,
                      "line %ld is longer than %zu bytes and was skipped",
                      line->number, (size_t)CLI_MAX_LINE);
    return 1;
  }
  return 0;
}
