/* The capability SIDs of a job, from the capability store (capstore-win.c
 * over sandbox/capstore.c): the first step of a Windows job's
 * confinement. */
#ifndef CAPSID_CAPSTORE_WIN_H
#define CAPSID_CAPSTORE_WIN_H

#include "capsid-common.h"
#include "capstore.h"
#include "sid-win.h"

/* The SIDs a job may need: its workspace's (empty when no workspace was
 * asked for), the generic one (extra writable roots and temp dirs), the
 * read-only one, and the sandbox users' (read grants). */
typedef struct capsid__caps_s {
  char workspace[CAPSID__SID_MAX];
  char generic[CAPSID__SID_MAX];
  char read_only[CAPSID__SID_MAX];
  char users[CAPSID__SID_MAX];
} capsid__caps_t;

/* Fills out from the capability store in capsid__state_dir(), creating
 * the store (with a fresh random SID domain) and the entries of roots
 * when missing: roots[0] is the workspace, the rest the extra writable
 * roots (canonical paths; n may be 0). A corrupt store is CAPSID_ECORRUPT
 * (moved aside, never silently replaced). */
int capsid__caps_get(const char* const* roots, size_t n, capsid__caps_t* out,
                     capsid_error_t* err);
/* A fresh random SID domain "S-1-5-21-a-b-c". */
int capsid__sid_domain_random(char out[CAPSID__SID_DOMAIN_MAX]);
/* "<domain>-<id>". */
void capsid__sid_of(const char* domain, uint32_t id,
                    char out[CAPSID__SID_MAX]);
/* The store's key of a canonical path: upper-cased (capsid__free it). */
char* capsid__cap_key(const char* root);

#endif
