/* deny_read on Windows: a deny ACE for the SID the job reads with.
 *
 * A read is checked against the token's normal SIDs only: restricting
 * SIDs take part in the second check, and a write-restricted token (every
 * capsid job's) makes that check for writes alone. So a deny ACE naming
 * the job's capability SIDs does not stop a read, and in unprivileged
 * mode the job reads as the caller, whose own access such an ACE would
 * take too. In elevated mode the job runs as a sandbox user, a member of
 * the sandbox users' group and of nothing the caller is not: a deny-read
 * ACE for that group stops the job's reads and nobody else's. There it is
 * enforced; elsewhere the job is refused rather than run with its secrets
 * readable.
 *
 * The ACEs go through the ACL engine like the job's grants, into the
 * workspace's record: capsid revoke and capsid uninstall
 * (capsid__acl_remove_all) take back exactly the recorded entries, found
 * by the record and not by the capability store's SID domain, which a
 * group's SID is not in. */
#include "denyread-win.h"

#include "denyread.h"
#include "path.h"

#include <string.h>

int capsid__denyread_win_check(const capsid__sandbox_t* sb,
                               capsid_mode_t mode, capsid_error_t* err) {
  if (mode == CAPSID_MODE_ELEVATED)
    return 0;
  return capsid__deny_read_refuse(
      sb,
      "in unprivileged mode on Windows (a job reads as its caller there, "
      "and a deny ACE for its capability SIDs does not stop a read; "
      "`capsid setup` and --mode elevated enforce it)",
      err);
}


int capsid__denyread_win_plan(const capsid__sandbox_t* sb, const char* sid,
                              capsid__acl_plan_t* acl, capsid_error_t* err) {
  capsid__acl_entry_t e;
  size_t i;
  int rc = 0, is_dir, os_error = 0;

  if (sb->deny_read.n == 0)
    return 0;
  if (sid == NULL || sid[0] == '\0')
    return capsid__deny_read_refuse(
        sb, "without the sandbox users' group (run `capsid setup`)", err);
  for (i = 0; rc == 0 && i < sb->deny_read.n; i++) {
    const char* path = sb->deny_read.v[i];
    is_dir = capsid__path_is_dir(path, &os_error) == 1;
    memset(&e, 0, sizeof(e));
    e.who.kind = CAPSID__ACL_GROUP;
    e.who.sid = sid;
    e.perms = CAPSID__ACL_R | CAPSID__ACL_DENY;
    e.scope = CAPSID__ACL_ACCESS | (is_dir ? CAPSID__ACL_DEFAULT : 0);
    rc = capsid__acl_plan_add(acl, CAPSID__ACL_T_DENY, path, is_dir, 0, &e,
                              1);
    if (rc != 0)
      rc = capsid__error_set(err, rc, CAPSID_STAGE_ACL, 0, path,
                             "policy.deny_read", NULL);
  }
  return rc;
}
