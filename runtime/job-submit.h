/* The runtime's entry for callers inside capsid that hold a job already
 * planned in part: a batch or worker line whose policy object was parsed
 * with the line (scale/jobline.c), so it is not written back to text and
 * parsed again. Everything else is as capsid_job_start. */
#ifndef CAPSID_JOB_SUBMIT_H
#define CAPSID_JOB_SUBMIT_H

#include "capsid-common.h"
#include "policy.h"

/* capsid_job_start with spec->policy ignored: the job's policy is a copy
 * of policy, or, when policy_err carries an error (the line's policy did
 * not parse), the job completes with that error as an invalid spec does. */
int capsid__job_start_parsed(capsid_runtime_t* rt,
                             const capsid_job_spec_t* spec,
                             const capsid__policy_t* policy,
                             const capsid_error_t* policy_err,
                             capsid_exit_cb on_exit, void* data,
                             capsid_job_t** job_out);

/* The job's first process has started: its host pid and the mode it runs
 * in. data is the job's own (capsid_job_data). */
typedef void (*capsid__spawn_cb)(capsid_job_t* job, int64_t pid,
                                 capsid_mode_t mode, void* data);

/* Calls cb once the job's process starts -- at once, from this call, when
 * it has started already (capsid_job_start can start a job before it
 * returns); never for a job that does not start. For a caller that
 * reports a job's pid while it runs (capsid serve's "started" event). */
void capsid__job_on_spawn(capsid_job_t* job, capsid__spawn_cb cb);

#endif
