/* Whole-file reads and crash-safe writes of small state files. Defined per
 * OS in base/<os>/file-<os>.c. */
#ifndef CAPSID_FILE_H
#define CAPSID_FILE_H

#include "capsid-common.h"

/* Reads all of path (at most max bytes) into a NUL-terminated buffer.
 * Returns 0, or a CAPSID_E* code with *os_error set (CAPSID_ENOENT when it
 * does not exist, CAPSID_ETOOLONG when it is larger than max). */
int capsid__file_read(const char* path, size_t max, char** data, size_t* len,
                      int* os_error);

/* Replaces path with data so that a crash leaves either the old or the
 * new content, never a mix: write a temporary file beside it, fsync it,
 * rename it over path, fsync the directory. */
int capsid__file_write_atomic(const char* path, const void* data, size_t len,
                              unsigned mode, int* os_error);

/* Takes an exclusive lock on the lock file at path (created if missing),
 * waiting for other processes to release it: capsid processes that share
 * a state file serialise on it. *handle is passed to capsid__file_unlock. */
int capsid__file_lock(const char* path, intptr_t* handle, int* os_error);
void capsid__file_unlock(intptr_t handle);

#endif
