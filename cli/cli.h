/* Shared pieces of the capsid command. */
#ifndef CAPSID_CLI_H
#define CAPSID_CLI_H

#include "capsid-common.h"
#include "compat.h"

/* Exit statuses of `capsid run` (the contract in cli/help.c). */
#define CLI_EXIT_TIMEOUT 124
#define CLI_EXIT_CAPSID 125
#define CLI_EXIT_NOEXEC 126
#define CLI_EXIT_NOTFOUND 127

int cli_cmd_run(int argc, char** argv);
int cli_cmd_batch(int argc, char** argv);
int cli_cmd_bench(int argc, char** argv);
int cli_cmd_acl(int argc, char** argv);
int cli_cmd_audit(int argc, char** argv);
int cli_cmd_doctor(int argc, char** argv);
int cli_cmd_setup(int argc, char** argv);
int cli_cmd_uninstall(int argc, char** argv);
/* Where records and locks live (CAPSID_STATE_DIR, or a default). */
const char* cli_state_dir(void);
/* Scale-out over Redis Streams (Linux builds with hiredis). */
int cli_cmd_worker(int argc, char** argv);
int cli_cmd_submit(int argc, char** argv);
int cli_cmd_collect(int argc, char** argv);
int cli_cmd_cancel(int argc, char** argv);
int cli_cmd_queue(int argc, char** argv);
/* capsid doctor --redis URL (cli/doctor-redis.c): one check line; -1 when
 * Redis could not be read. */
int cli_doctor_redis(const char* url,
                     void (*check)(void* data, const char* feature, int ok,
                                   const char* detail),
                     void* data);
/* One long-lived server for many clients (Linux builds). */
int cli_cmd_serve(int argc, char** argv);
void cli_help_serve(void);
void cli_help_main_serve(void);

/* How long a stopped job has to end after SIGTERM before it is killed
 * (`--grace` of run and batch). */
#define CLI_DEFAULT_GRACE_MS 5000
/* Parses --grace: a duration up to an hour, 0 allowed (kill at once).
 * Returns 0, or -1 after saying why on stderr. */
int cli_parse_grace(const char* cmd, const char* value, uint64_t* ms);

/* The status `capsid run` exits with for a result. */
int cli_exit_status(const capsid_result_t* r);
/* Says once per process, on stderr, that `auto` fell back to a mode that
 * enforces less (landlock-only), so nobody learns it only from --json. */
void cli_note_mode(capsid_mode_t requested, const capsid_result_t* r);
/* On a failed job the sandbox refused something: one line on stderr
 * naming the refused paths, their rules and the writable roots
 * (cli/denial-hint.c). */
void cli_denial_hint(const capsid_result_t* r);

/* Help texts. */
void cli_help_main(void);
void cli_help_run(void);
void cli_help_batch(void);
void cli_help_main_scale_out(void);
void cli_help_worker(void);
void cli_help_submit(void);
void cli_help_collect(void);
void cli_help_cancel(void);

/* Progress line on stderr (only drawn when stderr is a terminal). */
typedef struct cli_progress_s {
  int enabled;
  uint64_t start_ns;
  uint64_t last_draw_ns;
  long total;  /* -1: unknown */
  long done;
  long failed;
  long running;
  long slots;  /* jobs that may run at once; 0: no bound */
} cli_progress_t;

void cli_progress_init(cli_progress_t* p, int requested, long total);
/* Jobs started whose result is not written yet: the bar shows as running
 * as many of them as there are slots. */
void cli_progress_in_flight(cli_progress_t* p, long in_flight);
void cli_progress_draw(cli_progress_t* p, int force);
void cli_progress_end(cli_progress_t* p);
/* The line a tree walk draws (`capsid acl apply --progress`, `capsid audit
 * --progress`): "<label>: N dirs, N files, N <counted>, N unchanged dirs",
 * ended on the last call; nothing unless bar is enabled. */
struct capsid__acl_stats_s;
void cli_progress_tree(const cli_progress_t* bar, const char* label,
                       const char* counted,
                       const struct capsid__acl_stats_s* s);

/* Warns on stderr, once per workspace, when a workspace-write job's
 * workspace lies under a temporary directory its policy grants (other
 * workspaces' jobs can write it there). */
void cli_warn_shared_tmp(const capsid_job_spec_t* spec);
/* The same for a spec whose policy was parsed with its line (batch). */
struct capsid__policy_s;
void cli_warn_shared_tmp_parsed(const capsid_job_spec_t* spec,
                                const struct capsid__policy_s* policy,
                                const capsid_error_t* policy_error);

#endif
