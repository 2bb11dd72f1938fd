/* What the kernel itself reports refusing a job: Landlock's audit records
 * (kdenials-linux.c). The portable side is capsid__kdenials_take
 * (sandbox/denials.h). */
#ifndef CAPSID_KDENIALS_LINUX_H
#define CAPSID_KDENIALS_LINUX_H

#include "report.h"

/* Parent, per job, while its ruleset is built: when this process can
 * read Landlock's audit records (root, Landlock ABI 7, the kernel's audit
 * on), starts the reader once, follows the job that runs under key and
 * writes into tag (16 bytes) the name its process takes just before it
 * enters its Landlock domain; returns 1. Else tag is "" and it returns
 * 0: the report then rests on the job's stderr. */
int capsid__kdenials_expect(const void* key, char tag[16]);

/* After the job's processes are gone, on the loop thread: 1 when a
 * record of the job under key came and its domain's last record has not,
 * so its result should wait for it (capsid__kdenials_wait) before taking
 * what came (capsid__kdenials_take); else 0, at once and without a lock
 * while no job is followed. */
int capsid__kdenials_coming(const void* key);

/* Blocks until the last record of the domain of the job under key came,
 * or a bound (half a second) passed: never on the loop thread, where it
 * would stall every other job (capsid__postexit runs it on the worker
 * pool). Any thread. */
void capsid__kdenials_wait(const void* key);

#ifdef CAPSID_FAULT_INJECTION
/* Tests only (failure-injection builds): with a hook set, every job is
 * followed without the kernel's audit or the reader; the test hands in
 * the records itself (capsid__kdenials_test_record). on_expect is called
 * on the job's loop thread when the job is followed, with its tag (the
 * comm its domain record names); on_wait, on the thread that waits, when
 * a result starts waiting for its domain's last record; wait_ms, when not
 * 0, replaces the bound of that wait. NULL: the kernel again. */
typedef struct capsid__kdenials_hook_s {
  void (*on_expect)(const void* key, const char* tag, void* data);
  void (*on_wait)(const void* key, void* data);
  unsigned wait_ms;
  void* data;
} capsid__kdenials_hook_t;
void capsid__kdenials_test_hook(const capsid__kdenials_hook_t* hook);
/* One record's text as the reader takes it from the kernel: an
 * AUDIT_LANDLOCK_DOMAIN record when domain_record, else an
 * AUDIT_LANDLOCK_ACCESS one. */
void capsid__kdenials_test_record(int domain_record, const char* text);
#endif

/* `capsid doctor`: whether the kernel's reports can be read here, and
 * why not. */
void capsid__kdenials_doctor(capsid__report_cb cb, void* data);

#endif
