/* The one allocation shim: capsid and libuv allocate through mimalloc. */
#include "capsid-common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <mimalloc.h>
#include <uv.h>

void* capsid__malloc(size_t size) {
  return mi_malloc(size ? size : 1);
}


void* capsid__calloc(size_t count, size_t size) {
  return mi_calloc(count ? count : 1, size ? size : 1);
}


void* capsid__realloc(void* ptr, size_t size) {
  return mi_realloc(ptr, size ? size : 1);
}


void capsid__free(void* ptr) {
  int saved;

  if (ptr == NULL)
    return;
  /* Callers often free on an error path and then report errno. */
  saved = errno;
  mi_free(ptr);
  errno = saved;
}


char* capsid__strndup(const char* s, size_t n) {
  char* copy;

  copy = capsid__malloc(n + 1);
  if (copy == NULL)
    return NULL;
  memcpy(copy, s, n);
  copy[n] = '\0';
  return copy;
}


char* capsid__strdup(const char* s) {
  return s == NULL ? NULL : capsid__strndup(s, strlen(s));
}


char* capsid__sprintf(const char* fmt, ...) {
  va_list ap;
  int n;
  char* out;

  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return NULL;
  out = capsid__malloc((size_t)n + 1);
  if (out == NULL)
    return NULL;
  va_start(ap, fmt);
  vsnprintf(out, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return out;
}


static void* uv_calloc_shim(size_t count, size_t size) {
  return mi_calloc(count, size);
}


int capsid_init(unsigned flags) {
  if ((flags & ~CAPSID_INIT_UV_ALLOCATOR) != 0)
    return CAPSID_EINVAL;
  /* libuv's allocator is the whole process's: replacing it behind a host
   * that uses libuv too (or set its own) would have libuv free the host's
   * memory with mimalloc. So only when asked. */
  if ((flags & CAPSID_INIT_UV_ALLOCATOR) == 0)
    return 0;
  /* libuv only accepts the replacement before it has allocated; it does
   * not check, so the contract in capsid.h puts this first. */
  return uv_replace_allocator(mi_malloc, mi_realloc, uv_calloc_shim,
                              mi_free) == 0
             ? 0
             : CAPSID_EINVAL;
}


int capsid__strv_push_owned(capsid__strv_t* sv, char* s) {
  char** grown;
  size_t cap;

  if (s == NULL)
    return CAPSID_ENOMEM;
  if (sv->n + 2 > sv->cap) {
    cap = sv->cap ? sv->cap * 2 : 8;
    grown = capsid__realloc(sv->v, cap * sizeof(*grown));
    if (grown == NULL) {
      capsid__free(s);
      return CAPSID_ENOMEM;
    }
    sv->v = grown;
    sv->cap = cap;
  }
  sv->v[sv->n++] = s;
  sv->v[sv->n] = NULL;
  return 0;
}


int capsid__strv_push(capsid__strv_t* sv, const char* s) {
  return capsid__strv_push_owned(sv, capsid__strdup(s));
}


int capsid__strv_contains(const capsid__strv_t* sv, const char* s) {
  size_t i;

  for (i = 0; i < sv->n; i++)
    if (strcmp(sv->v[i], s) == 0)
      return 1;
  return 0;
}


int capsid__strv_copy(capsid__strv_t* sv, const char* const* list) {
  int rc;

  if (list == NULL)
    return 0;
  for (; *list != NULL; list++) {
    rc = capsid__strv_push(sv, *list);
    if (rc != 0)
      return rc;
  }
  return 0;
}


void capsid__strv_free(capsid__strv_t* sv) {
  size_t i;

  for (i = 0; i < sv->n; i++)
    capsid__free(sv->v[i]);
  capsid__free(sv->v);
  sv->v = NULL;
  sv->n = 0;
  sv->cap = 0;
}


int capsid__buf_append(capsid__buf_t* b, const void* data, size_t len) {
  size_t cap;
  char* grown;

  if (b->len + len + 1 > b->cap) {
    cap = b->cap ? b->cap : 64;
    while (cap < b->len + len + 1)
      cap *= 2;
    grown = capsid__realloc(b->data, cap);
    if (grown == NULL)
      return CAPSID_ENOMEM;
    b->data = grown;
    b->cap = cap;
  }
  if (len > 0)
    memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
  return 0;
}


void capsid__buf_free(capsid__buf_t* b) {
  capsid__free(b->data);
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
}
