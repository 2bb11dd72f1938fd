/* Kernel-reported denials (sandbox/linux/kdenials-linux.c): a job that
 * discards its stderr still gets, in its result, what Landlock refused
 * it, with the path and the rule. Landlock writes audit records only
 * while the kernel's audit is on, which capsid never turns on: this case
 * turns it on for itself when it is off, and back off after. */
#include "smoke.h"

#include "landlock-linux.h"

#include <linux/audit.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

/* Asks (set < 0) or sets the kernel's audit switch; the old value, or -1
 * when it cannot. */
static int audit_switch(int set) {
  struct {
    struct nlmsghdr h;
    struct audit_status s;
  } m;
  struct timeval tv = {2, 0};
  int fd, rc = -1;
  ssize_t n;

  fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
  if (fd < 0)
    return -1;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  memset(&m, 0, sizeof(m));
  m.h.nlmsg_len = NLMSG_LENGTH(0);
  m.h.nlmsg_type = AUDIT_GET;
  m.h.nlmsg_flags = NLM_F_REQUEST;
  if (send(fd, &m, m.h.nlmsg_len, 0) > 0) {
    while ((n = recv(fd, &m, sizeof(m), 0)) > 0)
      if (m.h.nlmsg_type == AUDIT_GET) {
        rc = (int)m.s.enabled;
        break;
      }
  }
  if (rc >= 0 && set >= 0 && rc != set) {
    memset(&m, 0, sizeof(m));
    m.h.nlmsg_len = sizeof(m);
    m.h.nlmsg_type = AUDIT_SET;
    m.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    m.s.mask = AUDIT_STATUS_ENABLED;
    m.s.enabled = (uint32_t)set;
    if (send(fd, &m, sizeof(m), 0) < 0 || recv(fd, &m, sizeof(m), 0) < 0 ||
        (m.h.nlmsg_type == NLMSG_ERROR &&
         ((struct nlmsgerr*)NLMSG_DATA(&m.h))->error != 0))
      rc = -1;
  }
  close(fd);
  return rc;
}


/* 1 when the result lists {op, path, rule} with "source":"kernel". */
static int kernel_lists(const capsid_result_t* r, const char* op,
                        const char* path, const char* rule) {
  char want[2400];

  snprintf(want, sizeof(want),
           "{\"op\":\"%s\",\"path\":\"%s\",\"rule\":\"%s\",\"source\":"
           "\"kernel\"}",
           op, path, rule);
  return r->denials != NULL && strstr(r->denials, want) != NULL;
}


/* What the switch was before the case, restored by the teardown even
 * when an assertion failed. */
static int audit_was = -1;

/* The switch is machine-wide, and ctest runs the smoke modes side by
 * side: without a lock, one mode's teardown turns audit off in the middle
 * of another's case (which found it on, so left it alone), and that case
 * sees no record. Every process that flips it takes this lock first and
 * keeps it until it has put the switch back. */
#define AUDIT_LOCK "/tmp/capsid-test-kernel-audit.lock"
static int audit_lock_fd = -1;

static void audit_lock(void) {
  audit_lock_fd = open(AUDIT_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  assert_true(audit_lock_fd >= 0);
  assert_int_equal(flock(audit_lock_fd, LOCK_EX), 0);
}

int smoke_kernel_denials_teardown(void** state) {
  (void)state;
  if (audit_was == 0)
    audit_switch(0);
  audit_was = -1;
  if (audit_lock_fd >= 0)
    close(audit_lock_fd); /* and the lock with it */
  audit_lock_fd = -1;
  return 0;
}


void smoke_kernel_denials(void** state) {
  smoke_deny_fx_t f;
  smoke_job_t job;
  capsid_result_t r;
  char outside[1400], token[1500], script[4096];
  int was;

  (void)state;
  if (geteuid() != 0 || capsid__landlock_abi() < 7) {
    if (!test_may_skip("kernel denials need root and Landlock ABI 7 "
                       "(Linux 6.15)"))
      fail();
    return;
  }
  audit_lock();
  was = audit_switch(1);
  assert_true(was >= 0);
  audit_was = was;
  smoke_deny_fx_make(&f);
  snprintf(outside, sizeof(outside), "%s/outside-k-%s", smoke_dir(),
           smoke_token());
  assert_int_equal(test_write_file(outside, "", 0), 0);
  snprintf(token, sizeof(token), "%s/token", f.home);
  /* The control writes beneath the workspace root, which in landlock-only
   * mode holds a denied .env (docs/security.md). */
  assert_int_equal(test_system("mkdir '%s/sub'", f.ws), 0);
  job = (smoke_job_t){.cwd = f.ws, .network = -1, .policy = f.policy};
  /* Every message of the job goes nowhere. */
  snprintf(script, sizeof(script),
           "exec 2>/dev/null; echo x > '%s'; cat ~/token; echo ok > sub/in-ws; "
           "exit 0",
           outside);
  smoke_sh(&job, script, &r);
  assert_int_equal(r.err.len, 0);
  if (smoke_mode_ran == CAPSID_MODE_LANDLOCK_ONLY) {
    /* Landlock is what refuses here: the kernel says so. */
    if (!kernel_lists(&r, "write", outside, "outside writable roots") ||
        !kernel_lists(&r, "read", token, "deny_read")) {
      fprintf(stderr, "denials: %s\n", r.denials);
      fail();
    }
  } else {
    /* The read-only mounts and the deny_read covers refuse before
     * Landlock is asked, and the kernel reports none of it. */
    assert_null(strstr(r.denials, "\"source\":\"kernel\""));
  }
  /* Control: the write inside the workspace happened and is not listed;
   * nothing was written outside. */
  assert_null(strstr(r.denials, "in-ws"));
  assert_int_equal(test_system("grep -qx ok '%s/sub/in-ws'", f.ws), 0);
  assert_int_equal(test_system("test -s '%s'", outside) == 0, 0);
  capsid_result_free(&r);
  unlink(outside);
  smoke_deny_fx_free(&f);
}
