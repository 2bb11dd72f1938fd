/* Paths as capsid spells them: canonical absolute paths with '/' as the
 * separator on both systems. The string tests are pure; the rest look at
 * the filesystem. Per OS in base/<os>/path-<os>.c, the portable part in
 * base/path.c. */
#ifndef CAPSID_PATH_H
#define CAPSID_PATH_H

#include "capsid-common.h"

/* Is path spelled the way this OS spells a canonical absolute path:
 * "/..." on Linux; "C:/..." or "//server/share/..." on Windows? Pure:
 * looks at the string only. Defined per OS in base/<os>/path-<os>.c. */
int capsid__path_is_absolute(const char* path);
/* How long the root of a canonical absolute path is: 1 for "/..." on
 * Linux; 3 for "C:/..." and the length of "//server/share/" on Windows;
 * 0 for a path that is not absolute. Pure, per OS like the above. */
size_t capsid__path_root_len(const char* path);
/* Is path absolute as a user may write it: the canonical spelling, or on
 * Windows the same with backslashes ("C:\x", "\\server\share")? Pure. */
int capsid__path_is_absolute_written(const char* path);

/* Is path (canonical) equal to or beneath root (canonical)? */
int capsid__path_is_within(const char* path, const char* root);

/* Canonical absolute form of path, resolved against base when relative.
 * Every component must exist. Returns 0 or a CAPSID_E* code with *os_error
 * set. Defined per OS in base/<os>/path-<os>.c. */
int capsid__path_canonical(const char* base, const char* path, char** out,
                           int* os_error);
/* Like capsid__path_canonical, but the last components may be missing:
 * the longest existing prefix is canonicalised and the rest appended
 * lexically ("." and ".." are refused there). */
int capsid__path_canonical_lax(const char* base, const char* path,
                               char** out, int* os_error);
/* 1 if path names an existing directory, 0 if it is something else, and a
 * negative code if it cannot be examined. */
int capsid__path_is_dir(const char* path, int* os_error);
/* The machine's shared temporary directory that workspace-write grants
 * unless exclude_slash_tmp is set: "/tmp" on Linux, NULL on Windows
 * (where each user's %TEMP% comes through the environment instead). */
const char* capsid__path_system_tmp(void);
int capsid__path_exists(const char* path);
/* Does this OS read c as a separator in a path a user writes: '/' on
 * Linux; '/' and '\\' on Windows? */
int capsid__path_is_sep(char c);

#endif
