/* One job of the batch format: a JSON object per input line.
 *
 *   {"id":"a1","argv":["sh","-c","make"],"cwd":"/src/ws1",
 *    "policy":"workspace-write","writable_roots":[],"read_only_paths":[],
 *    "network":false,"env":{},"env_mode":"inherit","stdin":"",
 *    "timeout_ms":0,"memory_limit":"256M","max_processes":0,
 *    "output_limit":"1M","mode":"auto"}
 *
 * Only argv is required. The same parser serves `capsid batch` and the
 * scale-out worker. */
#ifndef CAPSID_SCALE_JOBLINE_H
#define CAPSID_SCALE_JOBLINE_H

#include "capsid-common.h"
#include "policy.h"

#include <jansson.h>

/* Longest input line accepted; longer lines are refused, not buffered. */
#define CLI_MAX_LINE ((size_t)16 << 20)

typedef struct scale_jobline_s {
  json_t* id;  /* the "id" value as given (string or number), or NULL */
  long line;   /* 1-based line number in the input */
  capsid__strv_t argv;
  capsid__strv_t env;
  capsid__strv_t writable_roots;
  capsid__strv_t read_only_paths;
  char* cwd;
  /* The "policy" value, parsed with the line (the default when absent);
   * policy_error holds its parse error, which is the job's result, not
   * the line's: the line itself is well formed. */
  capsid__policy_t policy;
  capsid_error_t policy_error;
  char* stdin_data;
  size_t stdin_len;
  capsid_job_spec_t spec; /* points into the fields above; spec.policy is
                             NULL: the job takes the parsed policy */
} scale_jobline_t;

/* Parses one line. On failure err names the field (err->field) and the
 * returned code is CAPSID_EJSON or CAPSID_ESPEC; out->id and out->line are
 * still set when they could be read, so the error result can carry them. */
int scale_jobline_parse(const char* text, size_t len, long line,
                      scale_jobline_t* out, capsid_error_t* err);
void scale_jobline_free(scale_jobline_t* jl);

/* capsid_job_start for a parsed line: the job takes jl's parsed policy
 * (or its parse error) rather than parsing it again. */
int scale_jobline_start(capsid_runtime_t* rt, const scale_jobline_t* jl,
                        capsid_exit_cb on_exit, void* data,
                        capsid_job_t** job_out);

#endif
