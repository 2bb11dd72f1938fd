/* Uninstall's hand-back of what capsid identities own, and its check
 * (handback-linux.c). */
#ifndef CAPSID_HANDBACK_LINUX_H
#define CAPSID_HANDBACK_LINUX_H

#include "capsid-common.h"

typedef struct capsid__handback_s {
  uint32_t first, count; /* the reserved id range */
  int verify;            /* 1: change nothing, count what is left */
} capsid__handback_t;

typedef struct capsid__handback_stats_s {
  unsigned long changed; /* inodes handed back */
  unsigned long left;    /* verify: inodes owned by or naming an id */
  unsigned long errors;  /* inodes that could not be handed back */
  int stopped;           /* a directory moved during the walk */
  char first_left[512];  /* the first inode left or failed, for a message */
} capsid__handback_stats_t;

/* Walks root (not followed if a symlink, never leaving its filesystem)
 * and hands every inode whose uid or gid is in the range to the owner and
 * group of root: set-id bits dropped first, ACL xattrs removed (capsid's
 * inherited entries are all they hold). With verify, counts instead each
 * inode whose uid or gid is in the range or whose ACL names an id of it,
 * root and its ancestors included. Adds to *out. A missing root is no
 * error. */
void capsid__handback(const char* root, const capsid__handback_t* hb,
                      capsid__handback_stats_t* out);

#endif
