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
  /* Both belong to nobody, who runs capsid (root capsid makes only the
   * invoking user's directories writable). */
  smoke_give_to_nobody(a);
  assert_int_equal(chown(b, 65534, 65534), 0);
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


typedef struct overlap_s {
  const char* ws;
  capsid_result_t longer, shorter;
} overlap_t;


static void on_longer(capsid_job_t* job, capsid_result_t* r, void* data) {
  overlap_t* o = data;

  (void)job;
  o->longer = *r;
  memset(r, 0, sizeof(*r));
}


/* The shorter job is over (its post-job pass done): tell the longer. */
static void on_shorter(capsid_job_t* job, capsid_result_t* r, void* data) {
  overlap_t* o = data;

  (void)job;
  o->shorter = *r;
  memset(r, 0, sizeof(*r));
  assert_int_equal(test_system("touch '%s/shorter-done'", o->ws), 0);
}


/* Two jobs of one workspace overlap. The shorter writes a script; after
 * its post-job pass the longer, still running, finds the script still
 * the workspace's own and can chmod and run it (the pass waited). Once
 * the longer is over too, the script is the owner's. */
void smoke_hand_back_waits(void** state) {
  char* ws = smoke_workspace();
  const char* longer[] = {
      "/bin/sh", "-c",
      "for i in $(seq 1 1200); do [ -e shorter-done ] && break; "
      "sleep 0.05; done; "
      "[ \"$(stat -c %u script.sh)\" = \"$(id -u)\" ] && chmod +x script.sh "
      "&& ./script.sh && echo deferred-ok",
      NULL};
  const char* shorter[] = {"/bin/sh", "-c",
                           "printf '#!/bin/sh\\necho ran\\n' > script.sh",
                           NULL};
  capsid_runtime_options_t ro;
  capsid_job_spec_t s;
  capsid_runtime_t* rt;
  overlap_t o;
  struct stat st;
  char path[1200];

  (void)state;
  smoke_give_to_nobody(ws);
  memset(&o, 0, sizeof(o));
  o.ws = ws;
  ro = (capsid_runtime_options_t)CAPSID_RUNTIME_OPTIONS_INIT;
  ro.max_concurrency = 2;
  assert_int_equal(capsid_runtime_new(&ro, &rt), 0);
  s = (capsid_job_spec_t)CAPSID_JOB_SPEC_INIT;
  s.cwd = ws;
  s.network = -1;
  s.mode = smoke_mode;
  s.timeout_ms = 90000;
  s.argv = longer;
  assert_int_equal(capsid_job_start(rt, &s, on_longer, &o, NULL), 0);
  s.argv = shorter;
  assert_int_equal(capsid_job_start(rt, &s, on_shorter, &o, NULL), 0);
  capsid_runtime_run(rt);
  capsid_runtime_close(rt, NULL, NULL);
  smoke_check_ran(&o.shorter);
  smoke_check_ran(&o.longer);
  assert_int_equal(o.shorter.exit_code, 0);
  assert_int_equal(o.longer.exit_code, 0);
  assert_non_null(strstr(o.longer.out.data, "ran\ndeferred-ok"));
  snprintf(path, sizeof(path), "%s/script.sh", ws);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_uid, 65534);
  assert_int_equal(st.st_mode & 0100, 0100);
  capsid_result_free(&o.shorter);
  capsid_result_free(&o.longer);
  smoke_rmtree(ws);
}
