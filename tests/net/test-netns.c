/* The namespaces network lockdown makes (net/linux): the one maker, the
 * loopback it brings up, and the per-workspace held namespaces. Real
 * kernel behaviour: a namespace is told apart by its inode, and what is
 * inside one is read by a forked child that joins it. */
#include "test-common.h"

#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Joining a namespace of another user namespace needs CAP_SYS_ADMIN over
 * it, and making a network namespace without a user namespace needs it
 * in ours: root (CI runs this as root). */
static void need_root(void) {
  if (geteuid() == 0)
    return;
  if (test_may_skip("making and joining namespaces needs root (CI runs "
                    "as root)"))
    skip();
  fail();
}


static unsigned long ino_of_fd(int fd) {
  struct stat st;

  assert_int_equal(fstat(fd, &st), 0);
  return (unsigned long)st.st_ino;
}


static unsigned long ino_of_path(const char* path) {
  struct stat st;

  assert_int_equal(stat(path, &st), 0);
  return (unsigned long)st.st_ino;
}


/* Exit status of a child that joins net_fd and reports whether "lo" is
 * up there: 0 up, 1 down, 2 cannot join or read. */
static int loopback_state_in(int net_fd) {
  struct ifreq ifr;
  int status, fd;
  pid_t pid = fork();

  assert_true(pid >= 0);
  if (pid == 0) {
    if (setns(net_fd, CLONE_NEWNET) != 0)
      _exit(2);
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, "lo", 3);
    if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) != 0)
      _exit(2);
    _exit((ifr.ifr_flags & IFF_UP) ? 0 : 1);
  }
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  return WEXITSTATUS(status);
}


/* Elevated mode's use: a network namespace alone, not the host's, its
 * loopback up; and the control: the host's own loopback reads up too, so
 * the child's check can tell. */
static void test_maker_net_has_loopback_up(void** state) {
  capsid__ns_set_t ns;
  int host;

  (void)state;
  need_root();
  assert_int_equal(capsid__netns_make(CAPSID__NS_NET, &ns), 0);
  assert_true(ns.net_fd >= 0);
  assert_int_equal(ns.user_fd, -1);
  assert_int_equal(ns.ipc_fd, -1);
  assert_true(fcntl(ns.net_fd, F_GETFD) & FD_CLOEXEC);
  assert_int_not_equal(ino_of_fd(ns.net_fd),
                       ino_of_path("/proc/self/ns/net"));
  assert_int_equal(loopback_state_in(ns.net_fd), 0);
  host = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  assert_true(host >= 0);
  assert_int_equal(loopback_state_in(host), 0);
  close(host);
  capsid__ns_set_close(&ns);
  assert_int_equal(ns.net_fd, -1);
}


/* A fresh network namespace has its loopback down until someone brings
 * it up: the control for the test above (the maker, not the kernel,
 * brought it up). */
static void test_fresh_netns_loopback_is_down(void** state) {
  int status, fd;
  pid_t pid;

  (void)state;
  need_root();
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    if (unshare(CLONE_NEWNET) != 0)
      _exit(3);
    fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    _exit(fd < 0 ? 3 : loopback_state_in(fd));
  }
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 1);
}


/* An IPC namespace alone (every elevated job's): not the host's, and no
 * network namespace is made for it. */
static void test_maker_ipc_only(void** state) {
  capsid__ns_set_t ns;

  (void)state;
  need_root();
  assert_int_equal(capsid__netns_make(CAPSID__NS_IPC, &ns), 0);
  assert_int_equal(ns.net_fd, -1);
  assert_int_equal(ns.user_fd, -1);
  assert_true(ns.ipc_fd >= 0);
  assert_int_not_equal(ino_of_fd(ns.ipc_fd),
                       ino_of_path("/proc/self/ns/ipc"));
  capsid__ns_set_close(&ns);
}


static void test_maker_refuses_nothing_to_make(void** state) {
  capsid__ns_set_t ns;

  (void)state;
  assert_int_equal(capsid__netns_make(0, &ns), EINVAL);
  assert_int_equal(capsid__netns_make(8, &ns), EINVAL);
  assert_int_equal(ns.net_fd, -1);
}


/* Unprivileged mode's held namespaces: made once per workspace and
 * reused; another workspace gets others; each is not the host's and has
 * its loopback up; clearing closes every descriptor. */
static void test_held_once_per_workspace(void** state) {
  capsid__heldns_t *a, *a2, *b;
  unsigned long a_net, a_user, a_ipc, b_net;
  int fds;

  (void)state;
  need_root();
  capsid__heldns_clear();
  fds = test_count_fds();
  assert_int_equal(capsid__heldns_get("/net-test/a", &a), 0);
  assert_int_equal(capsid__heldns_get("/net-test/a", &a2), 0);
  assert_ptr_equal(a, a2);
  a_net = ino_of_fd(capsid__heldns_net_fd(a));
  a_user = ino_of_fd(capsid__heldns_user_fd(a));
  a_ipc = ino_of_fd(capsid__heldns_ipc_fd(a));
  assert_int_not_equal(a_net, ino_of_path("/proc/self/ns/net"));
  assert_int_not_equal(a_user, ino_of_path("/proc/self/ns/user"));
  assert_int_not_equal(a_ipc, ino_of_path("/proc/self/ns/ipc"));
  assert_int_equal(loopback_state_in(capsid__heldns_net_fd(a)), 0);

  assert_int_equal(capsid__heldns_get("/net-test/b", &b), 0);
  assert_ptr_not_equal(a, b);
  b_net = ino_of_fd(capsid__heldns_net_fd(b));
  assert_int_not_equal(a_net, b_net);
  assert_int_not_equal(ino_of_fd(capsid__heldns_user_fd(b)), a_user);
  assert_int_not_equal(ino_of_fd(capsid__heldns_ipc_fd(b)), a_ipc);
  assert_int_equal(loopback_state_in(capsid__heldns_net_fd(b)), 0);

  /* Still held while referenced after the table lets go. */
  capsid__heldns_clear();
  assert_int_equal(ino_of_fd(capsid__heldns_net_fd(a)), a_net);
  capsid__heldns_put(a);
  capsid__heldns_put(a2);
  capsid__heldns_put(b);
  assert_int_equal(test_count_fds(), fds);

  /* After clearing, the workspace's next job gets a new namespace. */
  assert_int_equal(capsid__heldns_get("/net-test/a", &a), 0);
  assert_int_not_equal(ino_of_fd(capsid__heldns_net_fd(a)), a_net);
  capsid__heldns_put(a);
  capsid__heldns_clear();
  assert_int_equal(test_count_fds(), fds);
}


/* Which socket families an offline job loses: unix sockets always, every
 * other family too without a network namespace of its own; online none. */
static void test_offline_denials(void** state) {
  (void)state;
  assert_int_equal(capsid__net_offline_denials(0, 1), 0);
  assert_int_equal(capsid__net_offline_denials(0, 0), 0);
  assert_int_equal(capsid__net_offline_denials(1, 1), CAPSID__NET_DENY_UNIX);
  assert_int_equal(capsid__net_offline_denials(1, 0),
                   CAPSID__NET_DENY_UNIX | CAPSID__NET_DENY_INET);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_maker_net_has_loopback_up),
      cmocka_unit_test(test_fresh_netns_loopback_is_down),
      cmocka_unit_test(test_maker_ipc_only),
      cmocka_unit_test(test_maker_refuses_nothing_to_make),
      cmocka_unit_test(test_held_once_per_workspace),
      cmocka_unit_test(test_offline_denials),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
