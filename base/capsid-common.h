/* Private header shared by every module (the counterpart of libuv's
 * uv-common.h). Nothing here is public API. */
#ifndef CAPSID_COMMON_H
#define CAPSID_COMMON_H

#include "capsid.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define CAPSID__ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CAPSID__CONTAINER_OF(ptr, type, field)                               \
  ((type*)((char*)(ptr) - offsetof(type, field)))

#if defined(__MINGW32__)
/* mingw builds use mingw's C99 printf (__USE_MINGW_ANSI_STDIO), not
 * msvcrt's, which lacks %zu and %lld. */
#define CAPSID__PRINTF(fmt, args) __attribute__((format(gnu_printf, fmt, args)))
#elif defined(__GNUC__)
#define CAPSID__PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CAPSID__PRINTF(fmt, args)
#endif

/* Allocation: everything goes through these, backed by mimalloc.
 * capsid__free preserves errno and accepts NULL. */
void* capsid__malloc(size_t size);
void* capsid__calloc(size_t count, size_t size);
void* capsid__realloc(void* ptr, size_t size);
void capsid__free(void* ptr);
char* capsid__strdup(const char* s);
char* capsid__strndup(const char* s, size_t n);
char* capsid__sprintf(const char* fmt, ...) CAPSID__PRINTF(1, 2);

/* A growable NULL-terminated array of owned strings. */
typedef struct capsid__strv_s {
  char** v;
  size_t n;
  size_t cap;
} capsid__strv_t;

int capsid__strv_push(capsid__strv_t* sv, const char* s);
int capsid__strv_push_owned(capsid__strv_t* sv, char* s);
int capsid__strv_contains(const capsid__strv_t* sv, const char* s);
void capsid__strv_free(capsid__strv_t* sv);
/* Copies a NULL-terminated list (NULL allowed) into sv. */
int capsid__strv_copy(capsid__strv_t* sv, const char* const* list);

/* A growable byte buffer. */
typedef struct capsid__buf_s {
  char* data;
  size_t len;
  size_t cap;
} capsid__buf_t;

int capsid__buf_append(capsid__buf_t* b, const void* data, size_t len);
void capsid__buf_free(capsid__buf_t* b);

/* Errors. capsid__error_set replaces whatever err held. Any argument may be
 * NULL/0. Returns code so callers can write `return capsid__error_set(...)`. */
int capsid__error_set(capsid_error_t* err, int code, int stage, int os_error,
                      const char* path, const char* field,
                      const char* fmt, ...) CAPSID__PRINTF(7, 8);
void capsid__error_free(capsid_error_t* err);
void capsid__error_move(capsid_error_t* dst, capsid_error_t* src);
/* Translates an OS error number (errno / GetLastError) to CAPSID_E*.
 * Defined per OS in base/<os>/error-<os>.c. */
int capsid__translate_os_error(int os_error);
/* Text of an OS error number, for messages. */
const char* capsid__os_strerror(int os_error, char* buf, size_t size);

/* 64-bit FNV-1a of len bytes, continuing from h (start with
 * CAPSID__FNV_BASIS). The checksum of the ACL record and the digests of
 * ACL plans: stable across builds and platforms, which they are stored
 * by. Not for anything an attacker chooses to collide. */
#define CAPSID__FNV_BASIS 14695981039346656037ull
static inline uint64_t capsid__fnv1a(uint64_t h, const void* data,
                                     size_t len) {
  const unsigned char* p = (const unsigned char*)data;
  size_t i;

  for (i = 0; i < len; i++) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

/* Monotonic clock in nanoseconds. */
uint64_t capsid__hrtime(void);

#endif /* CAPSID_COMMON_H */
