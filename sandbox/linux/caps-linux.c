/* Privilege drops done in the child just before execve. (The loopback of a
 * job's own network namespace is net/linux/netns-linux.c's.) */
#include "caps-linux.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif


/* The highest capability this kernel knows, read once per process (the
 * parent's side): the drop loop below then needs no failing call to find
 * the end. -1 until read, or where it cannot be. */
static int last_cap = -1;
static pthread_once_t last_cap_once = PTHREAD_ONCE_INIT;

static void read_last_cap(void) {
  char buf[16];
  ssize_t n;
  int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    return;
  n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n > 0) {
    buf[n] = '\0';
    last_cap = atoi(buf);
    if (last_cap <= 0 || last_cap > 63)
      last_cap = -1;
  }
}


void capsid__caps_prepare(void) {
  pthread_once(&last_cap_once, read_last_cap);
}


void capsid__caps_bound_child(void) {
  int cap, last = last_cap >= 0 ? last_cap : 63;

  /* In a user namespace the job may be uid 0 there (when the caller is
   * root): NOROOT makes execve grant it nothing, and the locks stop it
   * from undoing that. Without CAP_SETPCAP this fails, and then there is
   * no capability to lose anyway. */
  prctl(PR_SET_SECUREBITS,
        SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
            SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
            SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED,
        0, 0, 0);
  for (cap = 0; cap <= last; cap++)
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno == EINVAL)
      break; /* past the last capability this kernel knows */
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}


int capsid__caps_clear_child(void) {
  struct __user_cap_header_struct hdr;
  struct __user_cap_data_struct data[2];

  memset(&hdr, 0, sizeof(hdr));
  memset(data, 0, sizeof(data));
  hdr.version = _LINUX_CAPABILITY_VERSION_3;
  if (syscall(SYS_capset, &hdr, data) != 0)
    return errno;
  return 0;
}


int capsid__nnp_child(void) {
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ? errno : 0;
}

