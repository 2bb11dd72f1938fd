#include "resultline.h"

#include "log.h"

#include <stdio.h>
#include <string.h>

void scale_result_of_error(capsid_result_t* r, capsid_error_t* err) {
  memset(r, 0, sizeof(*r));
  r->exit_code = -1;
  r->peak_memory = -1;
  r->mode = CAPSID_MODE_NONE;
  capsid__error_move(&r->error, err);
}


json_t* scale_json_path(const char* path) {
  size_t n;
  char* lossy = scale_utf8_lossy(path, strlen(path), &n);
  json_t* j = lossy != NULL ? json_stringn(lossy, n) : json_null();

  capsid__free(lossy);
  return j;
}


/* Length of the valid UTF-8 sequence at s (1-4), or 0 if it is invalid:
 * overlong forms, surrogates and code points past U+10FFFF are invalid. */
static size_t utf8_seq(const unsigned char* s, size_t left) {
  unsigned c = s[0];
  size_t n, i;
  unsigned cp;

  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF)
    n = 2, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF)
    n = 3, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4)
    n = 4, cp = c & 0x07;
  else
    return 0;
  if (left < n)
    return 0;
  for (i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}


int scale_utf8_valid(const char* s, size_t len) {
  size_t i = 0, n;

  while (i < len) {
    n = utf8_seq((const unsigned char*)s + i, len - i);
    if (n == 0)
      return 0;
    i += n;
  }
  return 1;
}


char* scale_utf8_lossy(const char* s, size_t len, size_t* out_len) {
  capsid__buf_t b = {0};
  size_t i = 0, n;

  while (i < len) {
    n = utf8_seq((const unsigned char*)s + i, len - i);
    if (n == 0) {
      if (capsid__buf_append(&b, "\xEF\xBF\xBD", 3) != 0)
        goto oom;
      i++;
      continue;
    }
    if (capsid__buf_append(&b, s + i, n) != 0)
      goto oom;
    i += n;
  }
  if (b.data == NULL && capsid__buf_append(&b, "", 0) != 0)
    goto oom;
  *out_len = b.len;
  return b.data;

oom:
  capsid__buf_free(&b);
  return NULL;
}


char* scale_base64(const char* s, size_t len) {
  static const char tbl[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char* p = (const unsigned char*)s;
  char* out = capsid__malloc((len + 2) / 3 * 4 + 1);
  size_t i, o = 0;
  unsigned v;

  if (out == NULL)
    return NULL;
  for (i = 0; i + 2 < len; i += 3) {
    v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
    out[o++] = tbl[v >> 18];
    out[o++] = tbl[(v >> 12) & 63];
    out[o++] = tbl[(v >> 6) & 63];
    out[o++] = tbl[v & 63];
  }
  if (i < len) {
    v = (unsigned)p[i] << 16 | (i + 1 < len ? (unsigned)p[i + 1] << 8 : 0);
    out[o++] = tbl[v >> 18];
    out[o++] = tbl[(v >> 12) & 63];
    out[o++] = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
    out[o++] = '=';
  }
  out[o] = '\0';
  return out;
}


/* Which bytes can be copied into a JSON string as they are: printable
 * ASCII except the quote and the backslash. */
static int plain_byte(unsigned char c) {
  return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}


/* What the unit at p (one byte, or one valid UTF-8 sequence) costs in the
 * escaped JSON string; *n is how many bytes it takes. *bad says it is not
 * given exactly (an invalid byte, written as U+FFFD). */
static size_t unit_cost(const unsigned char* p, size_t left, size_t* n,
                        int* bad) {
  size_t seq;

  *n = 1;
  *bad = 0;
  if (plain_byte(p[0]))
    return 1;
  if (p[0] >= 0x80) {
    seq = utf8_seq(p, left);
    if (seq > 0) {
      *n = seq;
      return seq;
    }
    *bad = 1;
    return 3;
  }
  if (p[0] == '"' || p[0] == '\\' || p[0] == '\n' || p[0] == '\t' ||
      p[0] == '\r')
    return 2;
  return 6; /* \u00XX */
}


/* How a stream goes into a result line. It is text when that is exact and
 * cheap; otherwise the exact bytes go in base64 and the text is a readable
 * rendering (U+FFFD for each invalid byte), cut where it would pass the
 * budget. Either way the stream costs at most CLI_RESULT_STREAM_FACTOR
 * times its bytes plus CLI_RESULT_STREAM_SLACK, whatever the job wrote: a
 * megabyte of 0xFF or of NULs once made a line of four to six. */
static void plan_output(const capsid_output_t* o, size_t* text_len,
                        int* exact) {
  const unsigned char* p = (const unsigned char*)o->data;
  size_t budget = o->len * CLI_RESULT_STREAM_FACTOR + CLI_RESULT_STREAM_SLACK;
  size_t b64 = (o->len + 2) / 3 * 4;
  size_t cost = 0, i = 0, n, c;
  int bad, any_bad = 0;

  while (i < o->len) {
    cost += unit_cost(p + i, o->len - i, &n, &bad);
    any_bad |= bad;
    i += n;
  }
  *exact = !any_bad && cost <= budget;
  *text_len = o->len;
  if (*exact)
    return;
  budget -= b64;
  for (i = 0, cost = 0; i < o->len; i += n) {
    c = unit_cost(p + i, o->len - i, &n, &bad);
    if (cost + c > budget)
      break;
    cost += c;
  }
  *text_len = i;
}


static void set_output(json_t* obj, const char* name,
                       const capsid_output_t* o) {
  char key[32];
  size_t n = 0, text_len;
  char* text;
  int exact;

  if (o->data == NULL || o->len == 0) {
    json_object_set_new(obj, name, json_string(""));
    return;
  }
  plan_output(o, &text_len, &exact);
  if (exact) {
    json_object_set_new(obj, name, json_stringn(o->data, o->len));
    return;
  }
  text = scale_utf8_lossy(o->data, text_len, &n);
  json_object_set_new(obj, name, text ? json_stringn(text, n) : json_null());
  capsid__free(text);
  snprintf(key, sizeof(key), "%s_b64", name);
  text = scale_base64(o->data, o->len);
  json_object_set_new(obj, key, text ? json_string(text) : json_null());
  capsid__free(text);
}


json_t* scale_error_json(const capsid_error_t* err, long line) {
  json_t* e = json_object();
  char msg[2048];

  json_object_set_new(e, "code", json_string(capsid_err_name(err->code)));
  capsid_error_format(err, msg, sizeof(msg));
  /* The message of a bad path or field may hold any bytes. */
  if (scale_utf8_valid(msg, strlen(msg))) {
    json_object_set_new(e, "message", json_string(msg));
  } else {
    size_t n = 0;
    char* lossy = scale_utf8_lossy(msg, strlen(msg), &n);
    json_object_set_new(e, "message", lossy ? json_stringn(lossy, n)
                                            : json_null());
    capsid__free(lossy);
  }
  if (line > 0)
    json_object_set_new(e, "line", json_integer(line));
  if (err->field != NULL && scale_utf8_valid(err->field, strlen(err->field)))
    json_object_set_new(e, "field", json_string(err->field));
  json_object_set_new(e, "stage", json_string(capsid_stage_name(err->stage)));
  if (err->path != NULL && scale_utf8_valid(err->path, strlen(err->path)))
    json_object_set_new(e, "path", json_string(err->path));
  if (err->os_error != 0)
    json_object_set_new(e, "os_error", json_integer(err->os_error));
  return e;
}


/* What the job ran under and was refused (capsid.h: sandbox, denials),
 * given by the library as JSON text: "sandbox" is null when the policy
 * was never resolved, "denials" an empty list when nothing was refused
 * or the job did not run. */
static void set_report(json_t* obj, const capsid_result_t* r) {
  json_t* sandbox = r->sandbox ? json_loads(r->sandbox, 0, NULL) : NULL;
  json_t* denials = r->denials ? json_loads(r->denials, 0, NULL) : NULL;

  json_object_set_new(obj, "sandbox", sandbox ? sandbox : json_null());
  json_object_set_new(obj, "denials", denials ? denials : json_array());
}


/* Days since 1970-01-01 to a civil date (proleptic Gregorian), after
 * Howard Hinnant's days_from_civil inverse: no gmtime_r/gmtime_s, so the
 * same code serves every OS. */
static void civil_from_days(int64_t z, int* y, unsigned* m, unsigned* d) {
  int64_t era, yoe, doy, mp;

  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doy = z - era * 146097; /* day of era, for now */
  yoe = (doy - doy / 1460 + doy / 36524 - doy / 146096) / 365;
  doy = doy - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
  *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
  *y = (int)(yoe + era * 400 + (*m <= 2));
}


char* scale_rfc3339(int64_t unix_us, char* buf, size_t size) {
  int64_t secs = unix_us >= 0 ? unix_us / 1000000 : (unix_us - 999999) / 1000000;
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t rem = secs - days * 86400;
  int64_t ms = (unix_us - secs * 1000000) / 1000;
  unsigned m, d;
  int y;

  civil_from_days(days, &y, &m, &d);
  snprintf(buf, size, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", y, m, d,
           (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), (int)ms);
  return buf;
}


/* Everything but the output streams. */
static json_t* result_meta(json_t* id, long line, const capsid_result_t* r) {
  json_t* obj = json_object();
  char when[40];

  json_object_set(obj, "id", id ? id : json_null());
  if (line > 0)
    json_object_set_new(obj, "line", json_integer(line));
  /* No exit code when the job never ran or a signal ended it. */
  json_object_set_new(obj, "exit_code",
                      r->error.code == 0 && r->signal == 0
                          ? json_integer(r->exit_code)
                          : json_null());
  json_object_set_new(obj, "signal",
                      r->signal ? json_integer(r->signal) : json_null());
  json_object_set_new(obj, "timed_out", json_boolean(r->timed_out));
  json_object_set_new(obj, "oom", json_boolean(r->oom));
  json_object_set_new(obj, "killed", json_boolean(r->killed));
  /* Only on jobs a stop signal reached (batch ^C/SIGTERM, run's forward). */
  if (r->interrupted)
    json_object_set_new(obj, "interrupted", json_true());
  json_object_set_new(obj, "duration_ms", json_real(r->wall_ms));
  json_object_set_new(obj, "cpu_ms",
                      json_real(r->user_cpu_ms + r->sys_cpu_ms));
  json_object_set_new(obj, "user_cpu_ms", json_real(r->user_cpu_ms));
  json_object_set_new(obj, "system_cpu_ms", json_real(r->sys_cpu_ms));
  /* Only for a job whose process started. */
  json_object_set_new(obj, "started_at",
                      r->pid != 0 && r->started_at_us > 0
                          ? json_string(scale_rfc3339(r->started_at_us,
                                                      when, sizeof(when)))
                          : json_null());
  json_object_set_new(obj, "pid", r->pid != 0 ? json_integer(r->pid)
                                                 : json_null());
  json_object_set_new(obj, "peak_memory", r->peak_memory >= 0
                                              ? json_integer(r->peak_memory)
                                              : json_null());
  json_object_set_new(obj, "mode", json_string(capsid_mode_name(r->mode)));
  json_object_set_new(obj, "limits", json_string(capsid_limits_name(r->limits)));
  json_object_set_new(obj, "pids_limited", json_boolean(r->pids_limited));
  json_object_set_new(obj, "stdout_truncated", json_boolean(r->out.truncated));
  json_object_set_new(obj, "stderr_truncated", json_boolean(r->err.truncated));
  json_object_set_new(obj, "stdout_dropped", json_integer((json_int_t)r->out.dropped));
  json_object_set_new(obj, "stderr_dropped", json_integer((json_int_t)r->err.dropped));
  json_object_set_new(obj, "error", r->error.code != 0
                                        ? scale_error_json(&r->error, line)
                                        : json_null());
  set_report(obj, r);
  return obj;
}


json_t* scale_result_json(json_t* id, long line, const capsid_result_t* r) {
  json_t* obj = result_meta(id, line, r);

  set_output(obj, "stdout", &r->out);
  set_output(obj, "stderr", &r->err);
  return obj;
}


int scale_json_escape(capsid__buf_t* b, const char* s, size_t len,
                      int* valid) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char* p = (const unsigned char*)s;
  size_t i = 0, start, n, worst;
  char* w;

  /* Reserve the worst case (every byte as \u00XX) once, then write
   * through a pointer: this is where megabytes of output go, and a
   * bounds check per escaped byte showed up first in profiles. */
  worst = len * 6 + 2;
  if (capsid__buf_append(b, "", 0) != 0 || b->len + worst + 1 < b->len)
    return CAPSID_ENOMEM;
  if (b->cap < b->len + worst + 1) {
    char* grown = capsid__realloc(b->data, b->len + worst + 1);
    if (grown == NULL)
      return CAPSID_ENOMEM;
    b->data = grown;
    b->cap = b->len + worst + 1;
  }
  w = b->data + b->len;
  *w++ = '"';
  *valid = 1;
  while (i < len) {
    start = i;
    for (;;) {
      while (i < len && plain_byte(p[i]))
        i++;
      if (i < len && p[i] >= 0x80 && (n = utf8_seq(p + i, len - i)) > 0) {
        i += n;
        continue;
      }
      break;
    }
    memcpy(w, s + start, i - start);
    w += i - start;
    if (i >= len)
      break;
    if (p[i] >= 0x80) {
      *valid = 0;
      memcpy(w, "\xEF\xBF\xBD", 3);
      w += 3;
    } else if (p[i] == '"' || p[i] == '\\') {
      *w++ = '\\';
      *w++ = (char)p[i];
    } else if (p[i] == '\n') {
      *w++ = '\\';
      *w++ = 'n';
    } else if (p[i] == '\t') {
      *w++ = '\\';
      *w++ = 't';
    } else if (p[i] == '\r') {
      *w++ = '\\';
      *w++ = 'r';
    } else {
      memcpy(w, "\\u00", 4);
      w[4] = hex[p[i] >> 4];
      w[5] = hex[p[i] & 15];
      w += 6;
    }
    i++;
  }
  *w++ = '"';
  *w = '\0';
  b->len = (size_t)(w - b->data);
  return 0;
}


static int append_output(capsid__buf_t* b, const char* name,
                         const capsid_output_t* o) {
  char* b64;
  size_t text_len = 0;
  int valid = 1, exact = 1, rc;

  if (o->len > 0)
    plan_output(o, &text_len, &exact);
  rc = capsid__buf_append(b, ",\"", 2);
  if (rc == 0)
    rc = capsid__buf_append(b, name, strlen(name));
  if (rc == 0)
    rc = capsid__buf_append(b, "\":", 2);
  if (rc == 0)
    rc = scale_json_escape(b, o->data ? o->data : "", text_len, &valid);
  if (rc != 0 || exact)
    return rc;
  b64 = scale_base64(o->data, o->len);
  if (b64 == NULL)
    return CAPSID_ENOMEM;
  rc = capsid__buf_append(b, ",\"", 2);
  if (rc == 0)
    rc = capsid__buf_append(b, name, strlen(name));
  if (rc == 0)
    rc = capsid__buf_append(b, "_b64\":\"", 7);
  if (rc == 0)
    rc = capsid__buf_append(b, b64, strlen(b64));
  if (rc == 0)
    rc = capsid__buf_append(b, "\"", 1);
  capsid__free(b64);
  return rc;
}


/* The small fields come from jansson; the outputs, which can be
 * megabytes, are appended by the fast escaper before the closing brace. */
static int result_build(capsid__buf_t* b, json_t* id, long line,
                        const capsid_result_t* r,
                        json_t* extra) {
  json_t* meta = result_meta(id, line, r);
  char* text;
  size_t n;
  int rc = -1;

  if (extra != NULL)
    json_object_update(meta, extra);
  text = json_dumps(meta, JSON_COMPACT | JSON_REAL_PRECISION(10));
  json_decref(meta);
  if (text == NULL)
    return -1;
  n = strlen(text);
  if (n >= 2 && text[n - 1] == '}' &&
      capsid__buf_append(b, text, n - 1) == 0 &&
      append_output(b, "stdout", &r->out) == 0 &&
      append_output(b, "stderr", &r->err) == 0 &&
      capsid__buf_append(b, "}", 1) == 0)
    rc = 0;
  free(text);
  return rc;
}


int scale_result_write(FILE* f, json_t* id, long line,
                       const capsid_result_t* r) {
  return scale_result_write_ex(f, id, line, r, NULL);
}


int scale_result_write_ex(FILE* f, json_t* id, long line,
                          const capsid_result_t* r,
                          json_t* extra) {
  capsid__buf_t b = {0};
  int rc = -1;

  if (result_build(&b, id, line, r, extra) == 0 &&
      capsid__buf_append(&b, "\n", 1) == 0 &&
      fwrite(b.data, 1, b.len, f) == b.len && fflush(f) == 0)
    rc = 0;
  capsid__buf_free(&b);
  return rc;
}


int scale_print_json_line(json_t* obj) {
  char* text = json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(10));
  int rc = 0;

  if (text == NULL)
    return -1;
  if (fputs(text, stdout) == EOF || fputc('\n', stdout) == EOF ||
      fflush(stdout) == EOF)
    rc = -1;
  free(text);
  return rc;
}


int scale_result_format(capsid__buf_t* b, json_t* id, long line,
                        const capsid_result_t* r, json_t* extra) {
  return result_build(b, id, line, r, extra);
}
