/* Reads job lines on a thread of its own and hands them to the loop, so a
 * slow producer on a pipe never stalls the jobs' output. Lines longer than
 * CLI_MAX_LINE are not buffered: the rest of such a line is skipped and it
 * arrives as an over-long marker. Back-pressure: the thread stops reading
 * while `capacity` lines wait. */
#ifndef CAPSID_CLI_LINEREADER_H
#define CAPSID_CLI_LINEREADER_H

#include "args.h"
#include "capsid-common.h"

#include <uv.h>

typedef struct cli_line_s {
  struct cli_line_s* next;
  long number;    /* 1-based */
  int too_long;   /* text was dropped: the line exceeded CLI_MAX_LINE */
  int read_error; /* errno of a failed read; ends the input */
  size_t len;
  char text[];    /* NUL-terminated */
} cli_line_t;

typedef struct cli_linereader_s cli_linereader_t;

/* Reads fd to its end, split as above, on the calling thread: each
 * non-blank line, over-long marker or read-error marker goes to sink,
 * which owns it (capsid__free). Stops early when sink returns non-zero.
 * The reader thread runs this; `capsid submit` calls it directly. */
void cli_lines_read(int fd, int (*sink)(cli_line_t* line, void* data),
                    void* data);

/* The one optional input operand of batch and submit, after the options
 * (a->index): none or "-" is stdin (fd 0), anything else is opened
 * read-only. Returns the fd, or -1 after saying why on stderr (a second
 * operand, a file that cannot be opened). */
int cli_input_open(capsid__args_t* a);

/* on_ready runs on the loop when lines or EOF are available. */
int cli_linereader_start(uv_loop_t* loop, int fd, unsigned capacity,
                         void (*on_ready)(cli_linereader_t* r, void* data),
                         void* data, cli_linereader_t** out);
/* Next line, or NULL when none is waiting; *eof is set once the input has
 * ended and every line was taken. The caller frees lines with
 * capsid__free. */
cli_line_t* cli_linereader_take(cli_linereader_t* r, int* eof);

/* A line that cannot become a job because of how it was read (a read
 * error, or longer than CLI_MAX_LINE): fills err (stage spec, naming the
 * line) and returns 1; 0 for a line to parse. */
int cli_line_unreadable(const cli_line_t* line, capsid_error_t* err);
/* Stops the thread (it may be blocked in read: it is detached from the
 * input by closing nothing the caller owns) and frees the reader after the
 * loop has closed its handle. */
void cli_linereader_close(cli_linereader_t* r);

#endif
