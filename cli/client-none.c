/* Builds without `capsid serve` (Windows, this round): --server is
 * refused with a clear message, CAPSID_SERVER is ignored. */
#include "cli.h"

#include "client.h"

#include <stdio.h>


const char* cli_client_env_addr(void) {
  return NULL;
}


int cli_client_run(const char* addr, const capsid_job_spec_t* spec,
                   int json, uint64_t grace_ms, struct cli_passthru_s* pass) {
  (void)spec;
  (void)json;
  (void)grace_ms;
  (void)pass;
  fprintf(stderr, "capsid run: --server %s: this build has no client for "
          "capsid serve (Linux only for now)\n", addr);
  return CLI_EXIT_CAPSID;
}


int cli_client_batch(const char* addr, int fd,
                     const struct cli_batch_opts_s* opt) {
  (void)fd;
  (void)opt;
  fprintf(stderr, "capsid batch: --server %s: this build has no client for "
          "capsid serve (Linux only for now)\n", addr);
  return 2;
}
