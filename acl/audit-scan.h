/* The world-writable audit on capsid's worker pool, with progress and an
 * incremental record (audit-scan.c). Same findings as capsid__acl_audit
 * (acl.h) for the same places; what changes is how it gets there: one
 * work item per place on the pool, the ACL engine's progress snapshot,
 * and a record beside the ACL records (STATE/acl/<digest>.scan) so that a
 * re-scan lists only the places whose change time moved. */
#ifndef CAPSID_AUDIT_SCAN_H
#define CAPSID_AUDIT_SCAN_H

#include "acl.h"

typedef struct capsid__acl_scan_opts_s {
  capsid__acl_audit_opts_t audit; /* places, roots, gids, time box */
  /* The record lives in STATE/acl/; NULL: no record, every place listed. */
  const char* state_dir;
  int full;           /* ignore the record (still write a new one) */
  unsigned threads;   /* 0: one per CPU */
  capsid__acl_progress_cb progress; /* every ~100 ms and once at the end */
  void* data;
} capsid__acl_scan_opts_t;

/* Blocking (a private loop and pool). stats (may be NULL) gets dirs and
 * files examined, changed = findings, unchanged_dirs = places taken from
 * the record, full = the record had none of the places. A place whose
 * change time did not move since the recorded scan is not listed again:
 * its recorded findings are looked at again (a fixed one drops out) and
 * nothing else; a new entry changes the place's change time, so a
 * directory made there since is found. Not seen until the record goes
 * (full, or a day old): a DACL or mode changed later on an entry that
 * existed at the recorded scan. 0 or CAPSID_ENOMEM. */
int capsid__acl_audit_scan(const capsid__acl_scan_opts_t* opts,
                           capsid__acl_audit_t* out,
                           capsid__acl_stats_t* stats);

/* Appends a finding (path copied) to a. 0 or CAPSID_ENOMEM. */
int capsid__acl_audit_add(capsid__acl_audit_t* a, const char* path,
                          int is_dir, const char* why);

/* 1 when path is within one of o->writable (not reported), else 0. */
int capsid__acl_audit_in_roots(const capsid__acl_audit_opts_t* o,
                               const char* path);

/* The places capsid__acl_audit scans when opts->dirs is NULL (audit.c). */
int capsid__acl_audit_places(const capsid__acl_audit_opts_t* o,
                             capsid__strv_t* out);

#endif
