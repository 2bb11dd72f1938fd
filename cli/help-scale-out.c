/* Help texts of the scale-out commands (worker, submit, collect). */
#include "cli.h"

#include <stdio.h>

void cli_help_main_scale_out(void) {
  fputs(
"\n"
"Scale-out over Redis Streams (see 'capsid help worker'):\n"
"  capsid submit --redis URL --stream NAME [FILE|-]   queue a JSONL batch\n"
"  capsid worker --redis URL --stream NAME [-j N]     run queued jobs\n"
"  capsid collect --redis URL --results NAME --count N\n"
"                                                     print N results\n"
"  capsid queue status --redis URL --stream NAME      the queue now\n",
      stdout);
}


void cli_help_worker(void) {
  fputs(
"Usage: capsid worker --redis URL --stream NAME [options]\n"
"\n"
"Takes job lines (the 'capsid batch' format) from the Redis stream NAME as\n"
"a member of a consumer group, runs them N at a time, and writes each\n"
"result (the 'capsid batch' result line plus \"worker\" and \"entry\") to\n"
"the results stream. Run one worker per machine, as many machines as you\n"
"like, all with the same --stream and --group: each job goes to one of\n"
"them.\n"
"\n"
"Options:\n"
"      --redis URL            redis://[[USER]:PASSWORD@]HOST[:PORT][/DB];\n"
"                             also rediss://...?ca=FILE (TLS),\n"
"                             unix:///PATH, redis-sentinel://H1,H2/MASTER\n"
"      --stream NAME          the job stream (created if missing)\n"
"      --results NAME         the results stream (default: NAME-results)\n"
"      --dead-letter NAME     where poison jobs go (default: NAME-dead)\n"
"      --group NAME           consumer group (default: capsid); created at\n"
"                             the start of the stream if missing, so jobs\n"
"                             submitted before any worker ran are taken\n"
"      --consumer NAME        this worker's name in the group and in the\n"
"                             results (default: HOSTNAME-PID)\n"
"  -j, --jobs N               jobs running at once (default: CPUs; 1-4096)\n"
"      --claim-idle DURATION  take over a job another worker has held this\n"
"                             long without a sign of life (default 30s);\n"
"                             live workers refresh their jobs every third\n"
"                             of it, so long jobs are not taken from them\n"
"      --max-deliveries N     a job delivered more than N times (its workers\n"
"                             kept dying) goes to the dead-letter stream\n"
"                             with the reason, and gets an error result\n"
"                             (default 5)\n"
"      --drain-timeout DURATION\n"
"                             on SIGTERM/SIGINT, how long running jobs may\n"
"                             finish (default 30s); jobs still running are\n"
"                             then killed and handed back to the group at\n"
"                             once. A second signal hands them back now.\n"
"      --metrics HOST:PORT    serve Prometheus metrics at\n"
"                             http://HOST:PORT/metrics (no authentication:\n"
"                             use loopback or a private address)\n"
"  -h, --help                 this text\n"
"\n"
"Order of writes: the result is added to the results stream (XADD) and\n"
"only then is the job acknowledged (XACK). A worker dying in between\n"
"leaves the job pending, and another worker runs it again: results are\n"
"at-least-once, never lost. Deduplicate by \"entry\" (the job's stream\n"
"entry id); 'capsid collect' does. When Redis goes away the worker keeps\n"
"its finished results, reconnects with backoff, and writes them then.\n"
"\n"
"Exit status: 0 after a signal when every result was written; 1 when some\n"
"could not be (their jobs stay pending and are run again elsewhere); 2 on\n"
"usage errors.\n"
"\n"
"Jobs are confined as 'capsid batch' confines them; each result's \"mode\"\n"
"says how. A DURATION is 30s, 500ms, 2m; a bare number is seconds.\n"
"\n"
"Example (on every machine):\n"
"  capsid worker --redis redis://queue.lan:6379 --stream jobs -j 8\n",
      stdout);
}


void cli_help_submit(void) {
  fputs(
"Usage: capsid submit --redis URL --stream NAME [FILE|-]\n"
"\n"
"Adds each non-blank line of FILE (default: standard input) to the Redis\n"
"stream NAME as one entry {job: LINE, line: N}. Lines are not checked\n"
"here: a worker answers a bad line with an error result naming the line\n"
"and the field, as 'capsid batch' does. Lines over 16 MiB are refused.\n"
"\n"
"Options:\n"
"      --redis URL      redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]\n"
"      --stream NAME    the job stream the workers read\n"
"  -h, --help           this text\n"
"\n"
"Exit status: 0 when every line was added; 1 when a line was refused or\n"
"Redis failed (stderr says which lines were not confirmed); 2 on usage\n"
"errors.\n"
"\n"
"Example:\n"
"  capsid submit --redis redis://queue.lan --stream jobs jobs.jsonl\n",
      stdout);
}


void cli_help_collect(void) {
  fputs(
"Usage: capsid collect --redis URL --results NAME --count N [options]\n"
"\n"
"Reads the results stream NAME from its start and prints one JSON result\n"
"line per job, the first result of each, until N distinct jobs have a\n"
"result. Results a worker wrote twice (it died between writing a result\n"
"and acknowledging the job) are recognised by their \"entry\" field and\n"
"printed once. Rides out a Redis restart by reconnecting.\n"
"\n"
"Options:\n"
"      --redis URL           redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]\n"
"      --results NAME        the results stream (the worker's --results,\n"
"                            by default JOBSTREAM-results)\n"
"  -n, --count N             distinct results to wait for\n"
"  -t, --timeout DURATION    give up after DURATION: 30s, 5m; a bare number\n"
"                            is seconds (default: wait forever)\n"
"      --from ID             start after this stream entry id (default: 0,\n"
"                            the start of the stream)\n"
"      --progress            draw a progress bar on stderr (on a terminal)\n"
"  -h, --help                this text\n"
"\n"
"Exit status: 0 when N results were printed; 1 on timeout or a Redis\n"
"error; 2 on usage errors.\n"
"\n"
"Example:\n"
"  capsid collect --redis redis://queue.lan --results jobs-results \\\n"
"      --count 2000 --progress > results.jsonl\n",
      stdout);
}
