/* Which directories changed since the last look: a fanotify watch on the
 * filesystems of a plan's recursive targets (watch-linux.c). Elevated mode
 * keeps one per workspace, started before the apply whose record it
 * extends, and hands what it saw to the post-job apply
 * (capsid__acl_opts_t.touched), so that pass costs what the job changed,
 * not what the workspace holds. Root only (FAN_MARK_FILESYSTEM). */
#ifndef CAPSID_ACL_WATCH_LINUX_H
#define CAPSID_ACL_WATCH_LINUX_H

#include "acl.h"

typedef struct capsid__acl_watch_s capsid__acl_watch_t;

/* Starts watching. CAPSID_ENOTSUP (or another error) when the kernel,
 * the filesystem or the privileges do not allow it: the caller then
 * checks every recorded directory, as without a watch. */
int capsid__acl_watch_start(const capsid__acl_plan_t* plan,
                            capsid__acl_watch_t** out);
/* Adds to out every directory an event since the last drain named (its
 * own changes of ACLs and owners excepted: they are the apply's, made
 * after its checks). Returns 0, or CAPSID_ERANGE when events were lost
 * (queue overflow, too many directories, a pass that failed): the caller
 * checks every recorded directory then. Non-blocking. */
int capsid__acl_watch_drain(capsid__acl_watch_t* w,
                            capsid__acl_touched_t* out);
/* A pass given a drain's result did not complete: the next drain reports
 * events lost. */
void capsid__acl_watch_lost(capsid__acl_watch_t* w);
void capsid__acl_watch_free(capsid__acl_watch_t* w);

#endif
