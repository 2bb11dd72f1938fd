/* Helpers shared by the ACL engine's suites. */
#ifndef CAPSID_ACL_TEST_UTIL_H
#define CAPSID_ACL_TEST_UTIL_H

#include "test-common.h"

#include "acl-int.h"

#define TEST_UID 61001u

/* A scratch area: root/ws (the workspace), root/out (a sentinel tree
 * outside it, which must never change) and root/state. */
typedef struct fixture_s {
  char* root;
  char ws[1024];
  char out[1024];
  char state[1024];
} fixture_t;

void fixture_new(fixture_t* f);
void fixture_free(fixture_t* f);

/* getfacl -R plus inode, mode, links, owner, size and ctime of every
 * entry under dir, sorted: equal snapshots mean nothing changed. */
char* acl_snapshot(const char* dir);
/* getfacl -R of dir alone. */
char* acl_facls(const char* dir);
/* 1 if `getfacl -p path` lists entry (e.g. "user:61001:rw-"). */
int acl_has(const char* path, const char* entry);
/* 1 if path carries any extended ACL entry at all. */
int acl_extended(const char* path);

/* A plan of one writable root: u:UID:rwX and d:u:UID:rwx, the entries
 * `setfacl -R -m u:UID:rwX,d:u:UID:rwX` writes. */
void simple_plan(const char* root, capsid__acl_plan_t* plan);
/* Runs action on plan with state; asserts nothing, returns the status. */
int run_plan(capsid__acl_action_t action, const capsid__acl_plan_t* plan,
             const char* state, capsid__acl_stats_t* stats);
/* The same, with the error for the caller to read and free. */
int run_plan_err(capsid__acl_action_t action, const capsid__acl_plan_t* plan,
                 const char* state, capsid__acl_stats_t* stats,
                 capsid_error_t* err);

#endif
