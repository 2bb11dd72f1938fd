/* --resume / --resume-failed FILE: which jobs an earlier run finished,
 * from its results (one JSON object per line) or its --joblog (a header
 * line naming parallel's columns). Jobs are known by their id, or by
 * their line when they have none. The last line about a job wins, so a
 * log that resumed runs appended to still reads right.
 *
 * Done for --resume: the job ended by itself (a job a stop signal or
 * --halt cut short, or never started, runs again; the job log does not
 * list those). Done for --resume-failed: it also succeeded. */
#include "batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

char* cli_job_key(const json_t* id, long line, char* buf, size_t size) {
  char* text;

  if (id == NULL || json_is_null(id)) {
    snprintf(buf, size, "line:%ld", line);
    return buf;
  }
  text = json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT);
  snprintf(buf, size, "%s", text ? text : "?");
  free(text);
  return buf;
}


static int file_error(const char* option, const char* path, long line,
                      const char* what) {
  fprintf(stderr, "capsid batch: %s: %s line %ld: %s\n", option, path, line,
          what);
  return -1;
}


static void mark(cli_done_set_t* set, const char* key, int done) {
  if (done)
    json_object_set_new(set->keys, key, json_true());
  else
    json_object_del(set->keys, key);
}


static int result_line(cli_done_set_t* set, const char* option,
                       const char* path, long n, const char* text) {
  json_error_t jerr;
  json_t* r = json_loads(text, 0, &jerr);
  json_t* line;
  json_t* err;
  json_t* code;
  char key[512], what[300];
  int done;

  if (r == NULL || !json_is_object(r)) {
    snprintf(what, sizeof(what), "not a result of capsid batch (%s)",
             r == NULL ? jerr.text : "not a JSON object");
    json_decref(r);
    return file_error(option, path, n, what);
  }
  line = json_object_get(r, "line");
  if (json_object_get(r, "id") == NULL ||
      (line != NULL && !json_is_integer(line))) {
    json_decref(r);
    return file_error(option, path, n, "not a result of capsid batch (no "
                      "\"id\", or a \"line\" that is not a number)");
  }
  err = json_object_get(r, "error");
  code = json_is_object(err) ? json_object_get(err, "code") : NULL;
  done = !json_is_true(json_object_get(r, "interrupted")) &&
         !(json_is_string(code) &&
           strcmp(json_string_value(code), "CAPSID_ECANCELED") == 0);
  if (set->failed_only)
    done = done && json_is_null(err) &&
           json_is_integer(json_object_get(r, "exit_code")) &&
           json_integer_value(json_object_get(r, "exit_code")) == 0 &&
           !json_is_true(json_object_get(r, "timed_out"));
  cli_job_key(json_object_get(r, "id"), line ? (long)json_integer_value(line)
                                             : 0,
              key, sizeof(key));
  mark(set, key, done);
  json_decref(r);
  return 0;
}


/* The columns of a job log line, split in place at the tabs. */
static size_t split_tabs(char* text, char** cols, size_t max) {
  size_t n = 0;

  cols[n++] = text;
  for (; *text != '\0' && n < max; text++)
    if (*text == '\t') {
      *text = '\0';
      cols[n++] = text + 1;
    }
  return n;
}


typedef struct log_cols_s {
  int seq, exitval, signal, id, timed_out;
  size_t count;
} log_cols_t;


static int log_header(char* text, log_cols_t* c) {
  char* cols[64];
  size_t n = split_tabs(text, cols, 64), i;

  c->seq = c->exitval = c->signal = c->id = c->timed_out = -1;
  c->count = n;
  for (i = 0; i < n; i++) {
    if (strcmp(cols[i], "Seq") == 0)
      c->seq = (int)i;
    else if (strcmp(cols[i], "Exitval") == 0)
      c->exitval = (int)i;
    else if (strcmp(cols[i], "Signal") == 0)
      c->signal = (int)i;
    else if (strcmp(cols[i], "id") == 0)
      c->id = (int)i;
    else if (strcmp(cols[i], "timed_out") == 0)
      c->timed_out = (int)i;
  }
  return c->seq >= 0 && c->exitval >= 0 && c->signal >= 0 ? 0 : -1;
}


static int log_line(cli_done_set_t* set, const log_cols_t* c,
                    const char* option, const char* path, long n,
                    char* text) {
  char* cols[64];
  char key[512];
  char* end = NULL;
  json_t* id = NULL;
  long seq;
  int done = 1;

  if (split_tabs(text, cols, 64) != c->count)
    return file_error(option, path, n, "a job log line must have as many "
                      "tab-separated columns as the header");
  seq = strtol(cols[c->seq], &end, 10);
  if (end == cols[c->seq] || *end != '\0')
    return file_error(option, path, n, "Seq is not a number");
  if (c->id >= 0 && strcmp(cols[c->id], "null") != 0) {
    id = json_loads(cols[c->id], JSON_DECODE_ANY, NULL);
    if (id == NULL || !(json_is_string(id) || json_is_integer(id))) {
      json_decref(id);
      return file_error(option, path, n, "id is not a JSON string or "
                        "integer");
    }
  }
  if (set->failed_only)
    done = strcmp(cols[c->exitval], "0") == 0 &&
           strcmp(cols[c->signal], "0") == 0 &&
           (c->timed_out < 0 || strcmp(cols[c->timed_out], "true") != 0);
  mark(set, cli_job_key(id, seq, key, sizeof(key)), done);
  json_decref(id);
  return 0;
}


int cli_done_set_load(cli_done_set_t* set, const char* option,
                      const char* path, int failed_only) {
  FILE* f = fopen(path, "r");
  capsid__buf_t line = {0};
  log_cols_t cols;
  int c, rc = 0, is_log = 0;
  long n = 0;

  set->keys = json_object();
  set->failed_only = failed_only;
  if (f == NULL) {
    fprintf(stderr, "capsid batch: %s: cannot read \"%s\": %s\n", option,
            path, strerror(errno));
    return -1;
  }
  for (;;) {
    c = fgetc(f);
    if (c != EOF && c != '\n') {
      char ch = (char)c;
      if (capsid__buf_append(&line, &ch, 1) != 0) {
        rc = -1;
        break;
      }
      continue;
    }
    if (c == EOF && line.len == 0)
      break;
    n++;
    if (capsid__buf_append(&line, "", 1) != 0) {
      rc = -1;
      break;
    }
    if (n == 1 && strncmp(line.data, "Seq\t", 4) == 0) {
      is_log = 1;
      if (log_header(line.data, &cols) != 0)
        rc = file_error(option, path, n, "a job log header must name the "
                        "columns Seq, Exitval and Signal");
    } else if (line.data[0] != '\0') {
      rc = is_log ? log_line(set, &cols, option, path, n, line.data)
                  : result_line(set, option, path, n, line.data);
    }
    line.len = 0;
    if (rc != 0 || c == EOF)
      break;
  }
  capsid__buf_free(&line);
  fclose(f);
  return rc;
}


int cli_done_set_has(const cli_done_set_t* set, const char* key) {
  return set->keys != NULL && json_object_get(set->keys, key) != NULL;
}


void cli_done_set_free(cli_done_set_t* set) {
  json_decref(set->keys);
  set->keys = NULL;
}
