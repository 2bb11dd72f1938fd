/* Capability SIDs and the store that keeps them.
 *
 * A capability SID is an identity nobody logs on as: random values under
 * the S-1-5-21 (domain/machine) authority, so it cannot collide with a real
 * account's SID by accident. A workspace keeps its SID for ever, since the
 * ACEs on its files name it; so the SIDs are persisted in a small text file,
 * one "kind<TAB>key<TAB>SID" line each, rewritten atomically (a temp file
 * then MoveFileExW(REPLACE_EXISTING | WRITE_THROUGH)) under a named mutex so
 * that two capsid processes never hand out two SIDs for one workspace.
 * A line that does not parse makes the whole store an error (CAPSID_ECORRUPT
 * naming file and line): silently minting a new SID would orphan the old
 * ACEs and hand the workspace a fresh identity. */
#include "capsid-win.h"

#include "win-util.h"

#include <bcrypt.h>
#include <sddl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_HEADER "capsid-capsids v1\n"
#define STORE_MUTEX L"Local\\CapsidCapStore"

static const char* const kind_names[] = {"workspace", "generic", "readonly"};


int capsid__sid_random(char out[CAPSID__SID_MAX]) {
  ULONG v[4];

  if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, (PUCHAR)v, sizeof(v),
                                      BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
    return CAPSID_EIO;
  snprintf(out, CAPSID__SID_MAX, "S-1-5-21-%lu-%lu-%lu-%lu", v[0], v[1],
           v[2], v[3]);
  return 0;
}


char* capsid__capstore_path(void) {
  const char* dir = getenv("CAPSID_STATE_DIR");

  if (dir != NULL && *dir != '\0')
    return capsid__sprintf("%s/capsids.tsv", dir);
  dir = getenv("LOCALAPPDATA");
  if (dir == NULL || *dir == '\0')
    return NULL;
  return capsid__sprintf("%s/capsid/capsids.tsv", dir);
}


/* Paths compare case-insensitively, as NTFS does: the key is the canonical
 * path upper-cased with the system's case table. */
static char* make_key(capsid__cap_kind_t kind, const char* root) {
  WCHAR* w;
  char* key;

  if (kind != CAPSID__CAP_WORKSPACE || root == NULL)
    return capsid__strdup("*");
  w = capsid__utf16(root);
  if (w == NULL)
    return NULL;
  CharUpperBuffW(w, (DWORD)wcslen(w));
  key = capsid__utf8(w);
  capsid__free(w);
  return key;
}


static int valid_sid(const char* s) {
  PSID sid;

  if (strncmp(s, "S-1-5-21-", 9) != 0 ||
      !ConvertStringSidToSidA(s, &sid))
    return 0;
  LocalFree(sid);
  return 1;
}


/* Finds (kind, key) in text. Returns 1 found, 0 not, CAPSID_ECORRUPT with
 * err filled when a line does not parse. */
static int store_find(const char* path, const char* text, const char* kind,
                      const char* key, char out[CAPSID__SID_MAX],
                      capsid_error_t* err) {
  const char* line;
  const char* end;
  unsigned lineno = 1;
  int found = 0;

  if (strncmp(text, STORE_HEADER, strlen(STORE_HEADER)) != 0)
    return capsid__error_set(err, CAPSID_ECORRUPT, CAPSID_STAGE_CAPABILITY, 0,
                             path, NULL, "%s:1: not a capsid capability store",
                             path);
  for (line = text + strlen(STORE_HEADER); *line != '\0'; line = end + 1) {
    const char *t1, *t2;
    size_t sid_len;

    lineno++;
    end = strchr(line, '\n');
    if (end == NULL)
      return capsid__error_set(err, CAPSID_ECORRUPT, CAPSID_STAGE_CAPABILITY,
                               0, path, NULL, "%s:%u: truncated line", path,
                               lineno);
    t1 = memchr(line, '\t', (size_t)(end - line));
    t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(end - t1 - 1)) : NULL;
    sid_len = t2 ? (size_t)(end - t2 - 1) : 0;
    if (t2 == NULL || sid_len == 0 || sid_len >= CAPSID__SID_MAX)
      return capsid__error_set(err, CAPSID_ECORRUPT, CAPSID_STAGE_CAPABILITY,
                               0, path, NULL, "%s:%u: malformed entry", path,
                               lineno);
    if ((size_t)(t1 - line) == strlen(kind) &&
        memcmp(line, kind, strlen(kind)) == 0 &&
        (size_t)(t2 - t1 - 1) == strlen(key) &&
        memcmp(t1 + 1, key, strlen(key)) == 0) {
      memcpy(out, t2 + 1, sid_len);
      out[sid_len] = '\0';
      if (!valid_sid(out))
        return capsid__error_set(err, CAPSID_ECORRUPT,
                                 CAPSID_STAGE_CAPABILITY, 0, path, NULL,
                                 "%s:%u: invalid SID", path, lineno);
      found = 1;
    }
  }
  return found;
}


static int read_file(const WCHAR* path, capsid__buf_t* buf, DWORD* os_error) {
  HANDLE h;
  char chunk[4096];
  DWORD got;

  h = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_DELETE,
                  NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
  if (h == INVALID_HANDLE_VALUE) {
    *os_error = GetLastError();
    return *os_error == ERROR_FILE_NOT_FOUND ||
                   *os_error == ERROR_PATH_NOT_FOUND
               ? 0
               : -1;
  }
  for (;;) {
    if (!ReadFile(h, chunk, sizeof(chunk), &got, NULL)) {
      *os_error = GetLastError();
      CloseHandle(h);
      return -1;
    }
    if (got == 0)
      break;
    if (capsid__buf_append(buf, chunk, got) != 0) {
      *os_error = ERROR_NOT_ENOUGH_MEMORY;
      CloseHandle(h);
      return -1;
    }
  }
  CloseHandle(h);
  return 1;
}


static int write_atomic(const WCHAR* path, const char* data, size_t len,
                        DWORD* os_error) {
  WCHAR tmp[MAX_PATH + 16];
  HANDLE h;
  DWORD put;
  int ok;

  if (wcslen(path) + 5 >= CAPSID__ARRAY_SIZE(tmp)) {
    *os_error = ERROR_FILENAME_EXCED_RANGE;
    return -1;
  }
  wcscpy(tmp, path);
  wcscat(tmp, L".tmp");
  h = CreateFileW(tmp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                  FILE_ATTRIBUTE_NORMAL, NULL);
  if (h == INVALID_HANDLE_VALUE) {
    *os_error = GetLastError();
    return -1;
  }
  ok = WriteFile(h, data, (DWORD)len, &put, NULL) && put == len &&
       FlushFileBuffers(h);
  *os_error = ok ? 0 : GetLastError();
  CloseHandle(h);
  if (ok && !MoveFileExW(tmp, path,
                         MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
    *os_error = GetLastError();
    ok = 0;
  }
  if (!ok)
    DeleteFileW(tmp);
  return ok ? 0 : -1;
}


/* Creates the directory of the store (one level: %LOCALAPPDATA% exists). */
static void make_parent(WCHAR* path) {
  WCHAR* slash = NULL;
  WCHAR* c;

  for (c = path; *c != L'\0'; c++)
    if (*c == L'/' || *c == L'\\')
      slash = c;
  if (slash == NULL)
    return;
  *slash = L'\0';
  CreateDirectoryW(path, NULL);
  *slash = L'\\';
}


int capsid__capstore_get(capsid__cap_kind_t kind, const char* root,
                         char out[CAPSID__SID_MAX], capsid_error_t* err) {
  capsid__buf_t buf = {0};
  char* path = capsid__capstore_path();
  char* key = make_key(kind, root);
  WCHAR* wpath = NULL;
  HANDLE mutex = NULL;
  DWORD os_error = 0;
  int rc, have;
  char nul = '\0';

  if (path == NULL || key == NULL) {
    rc = capsid__error_set(err, path ? CAPSID_ENOMEM : CAPSID_ENOENT,
                           CAPSID_STAGE_CAPABILITY, 0, NULL, NULL,
                           path ? NULL
                                : "neither CAPSID_STATE_DIR nor LOCALAPPDATA "
                                  "is set: no place for the capability "
                                  "store");
    goto out;
  }
  wpath = capsid__utf16(path);
  if (wpath == NULL) {
    rc = capsid__error_set(err, CAPSID_EINVAL, CAPSID_STAGE_CAPABILITY,
                           (int)GetLastError(), path, NULL, NULL);
    goto out;
  }
  mutex = CreateMutexW(NULL, FALSE, STORE_MUTEX);
  if (mutex == NULL ||
      WaitForSingleObject(mutex, 30000) == WAIT_FAILED) {
    rc = capsid__error_set(err, CAPSID_EIO, CAPSID_STAGE_CAPABILITY,
                           (int)GetLastError(), NULL, NULL,
                           "cannot take the capability store mutex");
    if (mutex != NULL)
      CloseHandle(mutex);
    mutex = NULL;
    goto out;
  }
  /* WAIT_ABANDONED is fine: the file is only ever replaced whole. */
  have = read_file(wpath, &buf, &os_error);
  if (have < 0) {
    rc = capsid__error_set(err, capsid__translate_os_error((int)os_error),
                           CAPSID_STAGE_CAPABILITY, (int)os_error, path,
                           NULL, "cannot read the capability store");
    goto out;
  }
  if (have == 0 || buf.len == 0)
    capsid__buf_append(&buf, STORE_HEADER, strlen(STORE_HEADER));
  if (capsid__buf_append(&buf, &nul, 1) != 0) {
    rc = capsid__error_set(err, CAPSID_ENOMEM, CAPSID_STAGE_CAPABILITY, 0,
                           NULL, NULL, NULL);
    goto out;
  }
  buf.len--;
  rc = store_find(path, buf.data, kind_names[kind], key, out, err);
  if (rc != 0) {
    rc = rc > 0 ? 0 : rc;
    goto out;
  }
  rc = capsid__sid_random(out);
  if (rc == 0) {
    char* line = capsid__sprintf("%s\t%s\t%s\n", kind_names[kind], key, out);
    rc = line && capsid__buf_append(&buf, line, strlen(line)) == 0
             ? 0
             : CAPSID_ENOMEM;
    capsid__free(line);
  }
  if (rc != 0) {
    rc = capsid__error_set(err, rc, CAPSID_STAGE_CAPABILITY, 0, NULL, NULL,
                           "cannot make a capability SID");
    goto out;
  }
  make_parent(wpath);
  if (write_atomic(wpath, buf.data, buf.len, &os_error) != 0)
    rc = capsid__error_set(err, capsid__translate_os_error((int)os_error),
                           CAPSID_STAGE_CAPABILITY, (int)os_error, path, NULL,
                           "cannot write the capability store");

out:
  if (mutex != NULL) {
    ReleaseMutex(mutex);
    CloseHandle(mutex);
  }
  capsid__buf_free(&buf);
  capsid__free(wpath);
  capsid__free(key);
  capsid__free(path);
  return rc;
}
