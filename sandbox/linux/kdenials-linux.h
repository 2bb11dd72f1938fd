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

/* `capsid doctor`: whether the kernel's reports can be read here, and
 * why not. */
void capsid__kdenials_doctor(capsid__report_cb cb, void* data);

#endif
