/* capsid-test-child ACTION [ARGS]: what tests run inside a job.
 *
 *   write-bytes N BYTE     write N bytes of BYTE (a number) to stdout
 *   write-both N           N bytes 'o' to stdout and N bytes 'e' to stderr
 *   echo-stdin             copy stdin to stdout
 *   env NAME               print the value of NAME, exit 3 if unset
 *   tree PIDFILE SECONDS   start two descendants that sleep, write all
 *                          three pids to PIDFILE, then sleep
 *   exit N                 exit with status N
 *   signal N               kill itself with signal N
 *   sleep-ms N             sleep N milliseconds
 *   binary                 write bytes that are not valid UTF-8
 *   ipc-make KEY           make a SysV segment ("mine"), semaphore set and
 *                          message queue with KEY (0600)
 *   ipc-probe KEY          for each SysV kind, print "<kind>:seen" after
 *                          writing into the object of KEY, else
 *                          "<kind>:none" (absent) or "<kind>:denied"
 *   ipc-own                a private segment, semaphore and queue of the
 *                          job's own, shared with a forked child
 *   mq-probe NAME          "mq:seen" after sending to queue NAME, else
 *                          "mq:none"/"mq:denied"
 *   mq-own NAME            create, use and remove queue NAME
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void write_n(FILE* f, long n, int byte) {
  char buf[65536];
  long chunk;

  memset(buf, byte, sizeof(buf));
  while (n > 0) {
    chunk = n < (long)sizeof(buf) ? n : (long)sizeof(buf);
    fwrite(buf, 1, (size_t)chunk, f);
    n -= chunk;
  }
  fflush(f);
}


static void sleep_ms(long ms) {
  struct timespec ts;

  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) != 0)
    ;
}


static const char* absent(int e) {
  return e == ENOENT ? "none" : e == EACCES ? "denied" : strerror(e);
}


struct msg1 {
  long type;
  char text[8];
};


static int ipc_make(key_t key) {
  struct msg1 m = {1, "mine"};
  int shm = shmget(key, 4096, IPC_CREAT | 0600);
  int sem = semget(key, 1, IPC_CREAT | 0600);
  int msg = msgget(key, IPC_CREAT | 0600);
  char* p;

  if (shm < 0 || sem < 0 || msg < 0) {
    printf("ipc-make: %s\n", strerror(errno));
    return 1;
  }
  p = shmat(shm, NULL, 0);
  if (p == (void*)-1)
    return 1;
  strcpy(p, "mine");
  shmdt(p);
  return msgsnd(msg, &m, sizeof(m.text), IPC_NOWAIT) == 0 ? 0 : 1;
}


static int ipc_probe(key_t key) {
  struct msg1 m = {1, "job"};
  int id;
  char* p;

  if ((id = shmget(key, 0, 0)) >= 0 && (p = shmat(id, NULL, 0)) != (void*)-1) {
    printf("shm:seen:%.8s\n", p);
    strcpy(p, "job");
    shmdt(p);
  } else {
    printf("shm:%s\n", absent(errno));
  }
  if ((id = semget(key, 0, 0)) >= 0 && semctl(id, 0, SETVAL, 42) == 0)
    printf("sem:seen\n");
  else
    printf("sem:%s\n", absent(errno));
  if ((id = msgget(key, 0)) >= 0 &&
      msgsnd(id, &m, sizeof(m.text), IPC_NOWAIT) == 0)
    printf("msg:seen\n");
  else
    printf("msg:%s\n", absent(errno));
  return 0;
}


static int ipc_own(void) {
  struct msg1 m = {1, "own"}, got;
  struct sembuf up = {0, 1, 0};
  int shm = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
  int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
  int msg = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  int status, ok = 0;
  char* p;
  pid_t pid;

  if (shm < 0 || sem < 0 || msg < 0 ||
      (p = shmat(shm, NULL, 0)) == (void*)-1) {
    printf("ipc-own: %s\n", strerror(errno));
    return 1;
  }
  pid = fork();
  if (pid == 0) {
    strcpy(p, "child");
    semop(sem, &up, 1);
    msgsnd(msg, &m, sizeof(m.text), 0);
    _exit(0);
  }
  waitpid(pid, &status, 0);
  if (strcmp(p, "child") == 0 && semctl(sem, 0, GETVAL) == 1 &&
      msgrcv(msg, &got, sizeof(got.text), 0, IPC_NOWAIT) > 0 &&
      strcmp(got.text, "own") == 0)
    ok = 1;
  shmdt(p);
  shmctl(shm, IPC_RMID, NULL);
  semctl(sem, 0, IPC_RMID);
  msgctl(msg, IPC_RMID, NULL);
  printf(ok ? "ipc-own: shared\n" : "ipc-own: not shared\n");
  return ok ? 0 : 1;
}


static int mq_probe(const char* name) {
  mqd_t q = mq_open(name, O_WRONLY | O_NONBLOCK);

  if (q == (mqd_t)-1) {
    printf("mq:%s\n", absent(errno));
    return 0;
  }
  printf(mq_send(q, "job", 3, 0) == 0 ? "mq:seen\n" : "mq:opened\n");
  mq_close(q);
  return 0;
}


static int mq_own(const char* name) {
  struct mq_attr a = {0, 4, 16, 0, {0}};
  char buf[16];
  mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK, 0600, &a);
  int ok;

  if (q == (mqd_t)-1) {
    printf("mq-own: %s\n", strerror(errno));
    return 1;
  }
  ok = mq_send(q, "own", 3, 0) == 0 && mq_receive(q, buf, sizeof(buf), NULL) == 3;
  mq_close(q);
  mq_unlink(name);
  printf(ok ? "mq-own: ok\n" : "mq-own: failed\n");
  return ok ? 0 : 1;
}


int main(int argc, char** argv) {
  const char* action = argc > 1 ? argv[1] : "";

  if (strcmp(action, "write-bytes") == 0 && argc == 4) {
    write_n(stdout, atol(argv[2]), atoi(argv[3]));
    return 0;
  }
  if (strcmp(action, "write-both") == 0 && argc == 3) {
    write_n(stdout, atol(argv[2]), 'o');
    write_n(stderr, atol(argv[2]), 'e');
    return 0;
  }
  if (strcmp(action, "echo-stdin") == 0) {
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
      fwrite(buf, 1, n, stdout);
    return 0;
  }
  if (strcmp(action, "env") == 0 && argc == 3) {
    const char* v = getenv(argv[2]);
    if (v == NULL)
      return 3;
    printf("%s", v);
    return 0;
  }
  if (strcmp(action, "tree") == 0 && argc == 4) {
    long seconds = atol(argv[3]);
    pid_t kids[2];
    FILE* f;
    int i;
    for (i = 0; i < 2; i++) {
      kids[i] = fork();
      if (kids[i] == 0) {
        /* The grandchild detaches from its parent's lifetime. */
        if (i == 1 && fork() != 0)
          _exit(0);
        sleep_ms(seconds * 1000);
        _exit(0);
      }
    }
    /* Wait for the middle process so the pids below are final. */
    waitpid(kids[1], NULL, 0);
    f = fopen(argv[2], "w");
    if (f == NULL)
      return 2;
    /* The grandchild's pid is not known here; list the process group
     * instead, which is what a tree kill must empty. */
    fprintf(f, "%d %d\n", (int)getpid(), (int)getpgrp());
    fclose(f);
    sleep_ms(seconds * 1000);
    return 0;
  }
  if (strcmp(action, "exit") == 0 && argc == 3)
    return atoi(argv[2]);
  if (strcmp(action, "signal") == 0 && argc == 3) {
    signal(atoi(argv[2]), SIG_DFL);
    raise(atoi(argv[2]));
    return 99;
  }
  if (strcmp(action, "sleep-ms") == 0 && argc == 3) {
    sleep_ms(atol(argv[2]));
    return 0;
  }
  if (strcmp(action, "ipc-make") == 0 && argc == 3)
    return ipc_make((key_t)atol(argv[2]));
  if (strcmp(action, "ipc-probe") == 0 && argc == 3)
    return ipc_probe((key_t)atol(argv[2]));
  if (strcmp(action, "ipc-own") == 0)
    return ipc_own();
  if (strcmp(action, "mq-probe") == 0 && argc == 3)
    return mq_probe(argv[2]);
  if (strcmp(action, "mq-own") == 0 && argc == 3)
    return mq_own(argv[2]);
  if (strcmp(action, "binary") == 0) {
    fwrite("ok\xff\xfe\x00z", 1, 6, stdout);
    return 0;
  }
  fprintf(stderr, "capsid-test-child: unknown action '%s'\n", action);
  return 64;
}
