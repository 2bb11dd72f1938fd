/* deny_read on Windows: refused, never ignored.
 *
 * The job's token is write-restricted, so its capability SIDs take part
 * in write checks only: a deny ACE naming them does not stop a read. A
 * deny ACE for a SID the job reads with would do it: the sandbox users'
 * group in elevated mode; in unprivileged mode the job reads as the
 * caller, whose own access such an ACE would take too. The elevated half
 * needs the ACEs recorded so that uninstall removes them (they name no
 * capability SID, which is how it finds capsid's ACEs today), and Wine
 * enforces no ACL to test it on. Until both exist a job that asks for
 * deny_read is refused here rather than run with its secrets readable. */
#include "denyread-win.h"

#include "denyread.h"

int capsid__denyread_win_check(const capsid__sandbox_t* sb,
                               capsid_error_t* err) {
  return capsid__deny_read_refuse(sb, "on Windows yet", err);
}
