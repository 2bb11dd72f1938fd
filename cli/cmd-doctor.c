/* capsid doctor: what works on this machine, one line per feature (or one
 * JSON object with --json, for agents), and which mode `--mode auto` will
 * use. Exits 0 when a confining mode is available, 1 when none is. */
#include "cli.h"

#include "args.h"
#include "policy.h"
#include "resultline.h"
#include "system.h"

#include <stdio.h>
#include <string.h>

static const char help[] =
"Usage: capsid doctor [--json] [--probe] [--fix] [--redis URL] [WORKSPACE]\n"
"\n"
"Checks each feature confinement uses on this machine (and the POSIX ACL\n"
"support of WORKSPACE's filesystem, default: the current directory), and\n"
"says which mode --mode auto runs.\n"
"\n"
"Options:\n"
"      --json   one JSON object on stdout instead of lines:\n"
"               {\"version\":\"...\",\"workspace\":\"...\",\n"
"                \"checks\":[{\"name\":\"landlock\",\"ok\":true,\"detail\":\"...\"},\n"
"                          ...],\n"
"                \"auto_mode\":\"unprivileged\"}\n"
"               \"auto_mode\" is \"none\" when no confining mode is available.\n"
"      --probe  Windows: run the first-run matrix instead. Under each token\n"
"               variant (default, strict: CAPSID_WIN_TOKEN) it starts jobs\n"
"               that must work (cmd, PowerShell, user32, a named mutex,\n"
"               node, git, python where present, a pipeline, NUL, a write\n"
"               in the workspace) and jobs that must be refused (write and\n"
"               delete outside, icacls on .git, an Everyone-writable\n"
"               directory, an alternate data stream, .GiT), in a scratch\n"
"               directory under %USERPROFILE% it removes afterwards, and\n"
"               prints each row with its exit code (a table, or with\n"
"               --json {\"probe\":[{\"variant\",\"action\",\"expect\",\"got\",\n"
"               \"exit_code\",\"error\"}],\"ok\":bool}). A row whose job\n"
"               cannot be confined says \"not enforced by this system\".\n"
"               Run it first on a new Windows machine.\n"
"      --fix    first remove what capsid keeps between runs and nothing\n"
"               uses any more (Linux, as root: the network and IPC\n"
"               namespaces pinned for workspaces that are gone)\n"
"      --redis URL  also check the scale-out queue's Redis: a warning when\n"
"               its append-only file (AOF) is off; exit 1 when it cannot\n"
"               be reached\n"
"  -h, --help   this text\n"
"\n"
"Exit status: 0 when a confining mode is available (--probe: every row as\n"
"expected), 1 if not, 2 on usage errors (an unknown option, a WORKSPACE\n"
"that is not a directory, --probe on Linux).\n";

enum { OPT_JSON = 1, OPT_PROBE, OPT_REDIS, OPT_FIX, OPT_HELP };

static const capsid__option_t doctor_options[] = {
    {0, "json", 0, OPT_JSON},
    {0, "probe", 0, OPT_PROBE},
    {0, "redis", 1, OPT_REDIS},
    {0, "fix", 0, OPT_FIX},
    {'h', "help", 0, OPT_HELP},
    {0, NULL, 0, 0}};

/* --redis URL (cli/doctor-redis.c); NULL: not asked. */
static const char* redis_url;


/* Runs the Redis check when asked; 1 when it could not be made. */
static int check_redis(void (*check)(void*, const char*, int, const char*),
                       void* data) {
  if (redis_url == NULL)
    return 0;
#ifdef CAPSID_SCALE_OUT
  return cli_doctor_redis(redis_url, check, data) != 0;
#else
  check(data, "redis persistence", 0, "this build has no scale-out");
  return 1;
#endif
}


static void print_line(void* data, const char* feature, int ok,
                       const char* detail) {
  (void)data;
  printf("%-4s %-22s %s\n", ok ? "ok" : "--", feature, detail);
}


static void add_check(void* data, const char* feature, int ok,
                      const char* detail) {
  json_t* checks = data;

  json_array_append_new(checks, json_pack("{s:s,s:b,s:o}", "name", feature,
                                          "ok", ok, "detail",
                                          scale_json_path(detail)));
}


static int print_json(const char* workspace) {
  json_t* checks = json_array();
  json_t* obj;
  capsid_mode_t mode;
  int rc;

  mode = capsid__system_probe(workspace, add_check, checks);
  rc = check_redis(add_check, checks);
  obj = json_pack("{s:s,s:o,s:o,s:s}", "version", capsid_version_string(),
                  "workspace",
                  workspace ? scale_json_path(workspace) : json_string("."),
                  "checks", checks, "auto_mode", capsid_mode_name(mode));
  rc = scale_print_json_line(obj) != 0 || rc != 0;
  json_decref(obj);
  if (rc != 0)
    return 1;
  return mode == CAPSID_MODE_NONE ? 1 : 0;
}


/* One row of the probe: what the job did, in words. */
static const char* probe_got(const capsid__probe_case_t* c,
                             const capsid_result_t* r, int rc) {
  if (rc == CAPSID_ENOTFOUND && c->optional)
    return "absent";
  if (rc == CAPSID_EVERIFY || rc == CAPSID_ECONFINE)
    return "not enforced by this system";
  if (rc != 0)
    return "job error";
  return r->exit_code == 0 ? "allowed" : "refused";
}


static int run_probe(int json) {
  capsid__probe_t p;
  capsid_error_t err = {0};
  json_t* rows = json_array();
  int v, all_ok = 1;
  size_t i;

  if (capsid__probe_make(&p, &err) != 0) {
    fprintf(stderr, "capsid doctor: %s\n",
            err.message ? err.message : capsid_strerror(err.code));
    capsid__error_free(&err);
    json_decref(rows);
    return 2;
  }
  if (!json)
    printf("%-8s %-38s %-8s %-28s %s\n", "token", "action", "expect",
           "got", "code");
  for (v = 0; v < p.n_variants; v++) {
    const char* variant = capsid__probe_variant(&p, v);
    for (i = 0; i < p.n; i++) {
      const capsid__probe_case_t* c = &p.cases[i];
      capsid_job_spec_t spec = CAPSID_JOB_SPEC_INIT;
      capsid_result_t r;
      const char* got;
      int rc;

      spec.argv = (const char* const*)c->argv;
      spec.cwd = p.workspace;
      rc = capsid_run_capture(&spec, &r);
      got = probe_got(c, &r, rc);
      if (strcmp(got, "absent") != 0 &&
          strcmp(got, c->expect_ok ? "allowed" : "refused") != 0)
        all_ok = 0;
      if (json)
        json_array_append_new(
            rows, json_pack("{s:s,s:s,s:s,s:s,s:i,s:s?}", "variant", variant,
                            "action", c->name, "expect",
                            c->expect_ok ? "allowed" : "refused", "got", got,
                            "exit_code", r.exit_code, "error",
                            r.error.message));
      else if (rc != 0) /* no process: no exit code */
        printf("%-8s %-38s %-8s %-28s -  %s\n", variant, c->name,
               c->expect_ok ? "allowed" : "refused", got,
               r.error.message ? r.error.message : capsid_strerror(rc));
      else /* NTSTATUS-sized codes (0xC0000142) read best in hex */
        printf("%-8s %-38s %-8s %-28s 0x%08x\n", variant, c->name,
               c->expect_ok ? "allowed" : "refused", got,
               (unsigned)r.exit_code);
      capsid_result_free(&r);
    }
  }
  capsid__probe_free(&p);
  if (json) {
    json_t* obj = json_pack("{s:o,s:b}", "probe", rows, "ok", all_ok);
    scale_print_json_line(obj);
    json_decref(obj);
  } else {
    json_decref(rows);
    printf("probe: %s\n", all_ok ? "every row as expected"
                                  : "some rows differ (see above)");
  }
  return all_ok ? 0 : 1;
}


int cli_cmd_doctor(int argc, char** argv) {
  const char* workspace = NULL;
  capsid_mode_t mode;
  capsid__args_t a;
  int opt, json = 0, probe = 0, fix = 0, os_error = 0;

  capsid__args_init(&a, "capsid doctor", argc, argv);
  while ((opt = capsid__args_next(&a, doctor_options)) > 0) {
    if (opt == OPT_HELP) {
      fputs(help, stdout);
      return 0;
    }
    if (opt == OPT_PROBE)
      probe = 1;
    else if (opt == OPT_REDIS)
      redis_url = a.value;
    else if (opt == OPT_FIX)
      fix = 1;
    else
      json = 1;
  }
  if (opt < 0)
    return 2;
  if (a.index < argc)
    workspace = argv[a.index++];
  if (a.index < argc) {
    fprintf(stderr, "capsid doctor: unexpected argument '%s' (one WORKSPACE "
            "at most; see 'capsid doctor --help')\n", argv[a.index]);
    return 2;
  }
  /* A missing workspace used to be reported as a filesystem without ACL
   * support. */
  if (workspace != NULL && capsid__path_is_dir(workspace, &os_error) != 1) {
    fprintf(stderr, "capsid doctor: workspace \"%s\" is not an existing "
            "directory\n", workspace);
    return 2;
  }
  if (probe)
    return run_probe(json);
  /* Each removal (and each failed one) is a line of its own. */
  if (fix)
    (void)capsid__system_fix(json ? NULL : print_line, NULL);
  if (json)
    return print_json(workspace);
  mode = capsid__system_probe(workspace, print_line, NULL);
  if (check_redis(print_line, NULL) != 0) {
    printf("auto mode: %s\n", capsid_mode_name(mode));
    return 1;
  }
  if (mode == CAPSID_MODE_NONE) {
    printf("auto mode: none -- no confining mode is available here\n");
    return 1;
  }
  printf("auto mode: %s\n", capsid_mode_name(mode));
  return 0;
}
