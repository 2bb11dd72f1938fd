/* Socket and thread helpers (see scale-net.h). */
#include "scale-net.h"

#include "capsid-common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int scale_net_listen(const char* addr, const char* option, char* err,
                     size_t err_size) {
  struct addrinfo hints, *res = NULL, *ai;
  const char* colon = strrchr(addr, ':');
  size_t n = colon != NULL ? (size_t)(colon - addr) : 0;
  char host[256];
  int fd = -1, one = 1;

  if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
    memcpy(host, addr + 1, n - 2);
    host[n - 2] = '\0';
  } else if (n > 0 && n < sizeof(host)) {
    memcpy(host, addr, n);
    host[n] = '\0';
  } else {
    n = 0;
  }
  memset(&hints, 0, sizeof(hints));
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  if (n == 0 || colon[1] == '\0' || host[0] == '\0' ||
      getaddrinfo(host, colon + 1, &hints, &res) != 0) {
    snprintf(err, err_size, "%s: \"%s\" is not HOST:PORT (e.g. "
             "127.0.0.1:8080)", option, addr);
    return CAPSID_EINVAL;
  }
  for (ai = res; ai != NULL; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd < 0)
      continue;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 16) == 0)
      break;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    snprintf(err, err_size, "%s: cannot listen on %s: %s", option, addr,
             strerror(errno));
    return CAPSID_EIO;
  }
  return fd;
}


int scale_net_where(int fd, char* buf, size_t size) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  char host[INET6_ADDRSTRLEN], serv[16];

  if (getsockname(fd, (struct sockaddr*)&ss, &len) != 0 ||
      getnameinfo((struct sockaddr*)&ss, len, host, sizeof(host), serv,
                  sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return -1;
  snprintf(buf, size, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host,
           serv);
  return 0;
}


int scale_net_send_all(int fd, const void* data, size_t n) {
  const char* p = data;
  ssize_t w;

  while (n > 0) {
    w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}


int scale_net_read_head(int fd, char* buf, size_t size, int timeout_ms) {
  struct pollfd p;
  size_t have = 0;
  ssize_t n;

  p.fd = fd;
  p.events = POLLIN;
  while (have + 1 < size) {
    if (poll(&p, 1, timeout_ms) != 1)
      return -1;
    n = recv(fd, buf + have, size - 1 - have, 0);
    if (n <= 0)
      return -1;
    have += (size_t)n;
    buf[have] = '\0';
    if (strstr(buf, "\r\n\r\n") != NULL)
      return 0;
  }
  return -1;
}


int scale_thread_start(void* (*fn)(void*), void* arg) {
  pthread_attr_t attr;
  pthread_t th;
  sigset_t all, old;
  int rc;

  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  rc = pthread_create(&th, &attr, fn, arg);
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return rc == 0 ? 0 : -1;
}
