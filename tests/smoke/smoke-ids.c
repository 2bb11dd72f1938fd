/* Elevated mode only: what the per-workspace identities promise beyond
 * writes. A job's private file stays private to its workspace and the
 * owner; one workspace's traverse grant on a 0700 ancestor lets no other
 * workspace through; what a job made belongs to the owner after it. In
 * the other modes every job is the caller, so none of this applies. */
#include "smoke.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int status_in(const char* cwd, const char* script) {
  smoke_job_t j = {.cwd = cwd, .network = -1};

  return smoke_sh_status(&j, script);
}


/* Workspace A's job writes 0600, 0640 and 0644 files. B's job cannot read
 * the first two (the group of a job's file is A's own gid, and the
 * post-job re-apply widens no group entry); the rule for 0644 is that of
 * any local user: "other" may read it, so B may too (the control). The
 * owner reads all three. */
void smoke_private_files(void** state) {
  char* a = smoke_workspace();
  char* b = smoke_workspace();
  char script[2600];

  (void)state;
  assert_int_equal(chown(a, 65534, 65534), 0);
  /* Explicit modes: a directory with a default ACL ignores the umask. */
  assert_int_equal(status_in(a, "echo p > priv; chmod 600 priv; "
                                "echo g > grp; chmod 640 grp; "
                                "echo o > pub; chmod 644 pub; "
                                "mkdir dir; chmod 700 dir; echo d > dir/f; "
                                "chmod 644 dir/f"),
                   0);
  /* A second job of A: the post-job pass ran again over the same files. */
  assert_int_equal(status_in(a, "cat priv grp pub dir/f >/dev/null && "
                                "touch again"),
                   0);
  snprintf(script, sizeof(script), "cat '%s/priv'", a);
  assert_int_not_equal(status_in(b, script), 0);
  snprintf(script, sizeof(script), "cat '%s/grp'", a);
  assert_int_not_equal(status_in(b, script), 0);
  snprintf(script, sizeof(script), "cat '%s/dir/f'", a);
  assert_int_not_equal(status_in(b, script), 0); /* dir is 0700 */
  snprintf(script, sizeof(script), "cat '%s/pub'", a);
  assert_int_equal(status_in(b, script), 0);
  assert_int_equal(test_system("cd '%s' && setpriv --reuid=65534 "
                               "--regid=65534 --clear-groups cat priv grp "
                               "pub dir/f >/dev/null",
                               a),
                   0);
  smoke_rmtree(a);
  smoke_rmtree(b);
}


/* priv is 0700 root's and holds secret.txt (0644) and workspace wsP.
 * After a job in wsP (whose grants include traverse on priv), a job of
 * workspace Q still cannot reach priv/secret.txt; wsP's job still reaches
 * its cwd. */
void smoke_traverse_own(void** state) {
  char* base = smoke_workspace();
  char* q = smoke_workspace();
  char priv[1200], wsp[1300], script[2600];

  (void)state;
  snprintf(priv, sizeof(priv), "%s/priv", base);
  snprintf(wsp, sizeof(wsp), "%s/wsP", priv);
  assert_int_equal(test_system("mkdir -m 700 '%s' && mkdir '%s' && "
                               "echo s > '%s/secret.txt' && "
                               "chmod 644 '%s/secret.txt'",
                               priv, wsp, priv, priv),
                   0);
  snprintf(script, sizeof(script), "cat '%s/secret.txt'", priv);
  assert_int_not_equal(status_in(q, script), 0); /* before: no way in */
  assert_int_equal(status_in(wsp, "pwd && echo x > made"), 0);
  assert_int_not_equal(status_in(q, script), 0);
  snprintf(script, sizeof(script), "ls '%s'", priv);
  assert_int_not_equal(status_in(q, script), 0);
  /* Control: wsP's own job still gets through to its cwd. */
  assert_int_equal(status_in(wsp, "cat made && echo y >> made"), 0);
  smoke_rmtree(q);
  smoke_rmtree(base);
}
