/* Frames between capsid and its runner; see runner-wire-win.h. */
#include "runner-wire-win.h"

#include <string.h>

int capsid__wire_u32(capsid__buf_t* b, uint32_t v) {
  uint8_t le[4];

  le[0] = (uint8_t)v;
  le[1] = (uint8_t)(v >> 8);
  le[2] = (uint8_t)(v >> 16);
  le[3] = (uint8_t)(v >> 24);
  return capsid__buf_append(b, le, sizeof(le));
}


int capsid__wire_bytes(capsid__buf_t* b, const void* p, size_t n) {
  if (n > CAPSID__WIRE_MAX)
    return CAPSID_ETOOLONG;
  if (capsid__wire_u32(b, (uint32_t)n) != 0)
    return CAPSID_ENOMEM;
  return n == 0 ? 0 : capsid__buf_append(b, p, n);
}


int capsid__wire_str(capsid__buf_t* b, const char* s) {
  return capsid__wire_bytes(b, s, s ? strlen(s) : 0);
}


uint32_t capsid__wire_get_u32(capsid__wire_rd_t* r) {
  uint32_t v;

  if (r->bad || r->left < 4) {
    r->bad = 1;
    return 0;
  }
  v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
      (uint32_t)r->p[3] << 24;
  r->p += 4;
  r->left -= 4;
  return v;
}


const void* capsid__wire_get_bytes(capsid__wire_rd_t* r, size_t* n) {
  uint32_t len = capsid__wire_get_u32(r);
  const void* p;

  *n = 0;
  if (r->bad || len > r->left) {
    r->bad = 1;
    return NULL;
  }
  p = r->p;
  r->p += len;
  r->left -= len;
  *n = len;
  return p;
}


char* capsid__wire_get_str(capsid__wire_rd_t* r) {
  size_t n;
  const char* p = capsid__wire_get_bytes(r, &n);

  /* A NUL inside would silently cut the string short. */
  if (p == NULL || n == 0 || memchr(p, '\0', n) != NULL)
    return NULL;
  return capsid__strndup(p, n);
}


const WCHAR* capsid__wire_get_wstr(capsid__wire_rd_t* r, int block) {
  size_t n, units;
  const WCHAR* w = capsid__wire_get_bytes(r, &n);

  units = n / sizeof(WCHAR);
  /* The frame is a malloc'd buffer and every field before this one has a
   * length divisible by 2 (UTF-16) or 4: w is suitably aligned only if
   * the sender kept it so; memcpy-free reads need that, so check it. */
  if (w == NULL || n % sizeof(WCHAR) != 0 || units < (size_t)(block ? 2 : 1) ||
      ((uintptr_t)w % sizeof(WCHAR)) != 0 || w[units - 1] != 0 ||
      (block && w[units - 2] != 0)) {
    r->bad = 1;
    return NULL;
  }
  return w;
}


int capsid__wire_wait(HANDLE h, OVERLAPPED* ov, HANDLE process,
                      DWORD timeout_ms) {
  HANDLE waits[2];
  DWORD n = 0, got = 0, w;

  waits[n++] = ov->hEvent;
  if (process != NULL)
    waits[n++] = process;
  w = WaitForMultipleObjects(n, waits, FALSE, timeout_ms);
  if (w == WAIT_OBJECT_0)
    return GetOverlappedResult(h, ov, &got, FALSE) ? 0 : CAPSID_EIO;
  /* Timed out, or the runner died first: cancel, and wait for the cancel
   * to land so ov is no longer in use when the caller frees it. */
  CancelIoEx(h, ov);
  GetOverlappedResult(h, ov, &got, TRUE);
  return w == WAIT_TIMEOUT ? CAPSID_ETIMEDOUT : CAPSID_ESPAWN;
}


/* Moves exactly n bytes; the wait rules of capsid__wire_send. */
static int transfer(HANDLE pipe, int write, void* p, size_t n,
                    HANDLE process, DWORD timeout_ms) {
  OVERLAPPED ov;
  DWORD done;
  BOOL ok;
  int rc = 0;

  memset(&ov, 0, sizeof(ov));
  ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (ov.hEvent == NULL)
    return CAPSID_EIO;
  while (n > 0 && rc == 0) {
    DWORD chunk = n > 65536 ? 65536 : (DWORD)n;

    done = 0;
    ResetEvent(ov.hEvent);
    ok = write ? WriteFile(pipe, p, chunk, &done, &ov)
               : ReadFile(pipe, p, chunk, &done, &ov);
    if (!ok && GetLastError() != ERROR_IO_PENDING)
      rc = CAPSID_EIO;
    else if (!ok && (rc = capsid__wire_wait(pipe, &ov, process,
                                            timeout_ms)) == 0)
      GetOverlappedResult(pipe, &ov, &done, FALSE);
    if (rc == 0 && done == 0)
      rc = CAPSID_EIO; /* the other end closed */
    p = (char*)p + done;
    n -= done;
  }
  CloseHandle(ov.hEvent);
  return rc;
}


int capsid__wire_send(HANDLE pipe, const capsid__buf_t* b, HANDLE process,
                      DWORD timeout_ms) {
  capsid__buf_t frame = {0};
  int rc;

  if (b->len > CAPSID__WIRE_MAX)
    return CAPSID_ETOOLONG;
  rc = capsid__wire_u32(&frame, (uint32_t)b->len);
  if (rc == 0)
    rc = capsid__buf_append(&frame, b->data, b->len);
  if (rc == 0)
    rc = transfer(pipe, 1, frame.data, frame.len, process, timeout_ms);
  capsid__buf_free(&frame);
  return rc;
}


int capsid__wire_recv(HANDLE pipe, capsid__buf_t* out, HANDLE process,
                      DWORD timeout_ms) {
  uint8_t le[4];
  uint32_t len;
  int rc;

  memset(out, 0, sizeof(*out));
  rc = transfer(pipe, 0, le, sizeof(le), process, timeout_ms);
  if (rc != 0)
    return rc;
  len = (uint32_t)le[0] | (uint32_t)le[1] << 8 | (uint32_t)le[2] << 16 |
        (uint32_t)le[3] << 24;
  if (len == 0 || len > CAPSID__WIRE_MAX)
    return CAPSID_ETOOLONG;
  out->data = capsid__malloc(len);
  if (out->data == NULL)
    return CAPSID_ENOMEM;
  out->len = out->cap = len;
  rc = transfer(pipe, 0, out->data, len, process, timeout_ms);
  if (rc != 0)
    capsid__buf_free(out);
  return rc;
}
