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
"Usage: capsid doctor [--json] [--fix] [WORKSPACE]\n"
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
"      --fix    first remove what capsid keeps between runs and nothing\n"
"               uses any more (Linux, as root: the network and IPC\n"
"               namespaces pinned for workspaces that are gone)\n"
"  -h, --help   this text\n"
"\n"
"Exit status: 0 when a confining mode is available, 1 if not, 2 on usage\n"
"errors (an unknown option, a WORKSPACE that is not a directory).\n";

enum { OPT_JSON = 1, OPT_HELP, OPT_FIX };

static const capsid__option_t doctor_options[] = {
    {0, "json", 0, OPT_JSON}, {0, "fix", 0, OPT_FIX},
    {'h', "help", 0, OPT_HELP}, {0, NULL, 0, 0}};


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
                                          cli_json_path(detail)));
}


static int print_json(const char* workspace) {
  json_t* checks = json_array();
  json_t* obj;
  capsid_mode_t mode;
  int rc;

  mode = capsid__system_probe(workspace, add_check, checks);
  obj = json_pack("{s:s,s:o,s:o,s:s}", "version", capsid_version_string(),
                  "workspace",
                  workspace ? cli_json_path(workspace) : json_string("."),
                  "checks", checks, "auto_mode", capsid_mode_name(mode));
  rc = cli_print_json_line(obj);
  json_decref(obj);
  if (rc != 0)
    return 1;
  return mode == CAPSID_MODE_NONE ? 1 : 0;
}


int cli_cmd_doctor(int argc, char** argv) {
  const char* workspace = NULL;
  capsid_mode_t mode;
  capsid__args_t a;
  int opt, json = 0, fix = 0, os_error = 0;

  capsid__args_init(&a, "capsid doctor", argc, argv);
  while ((opt = capsid__args_next(&a, doctor_options)) > 0) {
    if (opt == OPT_HELP) {
      fputs(help, stdout);
      return 0;
    }
    if (opt == OPT_FIX)
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
  /* Each removal (and each failed one) is a line of its own. */
  if (fix)
    (void)capsid__system_fix(json ? NULL : print_line, NULL);
  if (json)
    return print_json(workspace);
  mode = capsid__system_probe(workspace, print_line, NULL);
  if (mode == CAPSID_MODE_NONE) {
    printf("auto mode: none -- no confining mode is available here\n");
    return 1;
  }
  printf("auto mode: %s\n", capsid_mode_name(mode));
  return 0;
}
