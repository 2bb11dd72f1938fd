/* capsid audit: the world-writable audit by hand. */
#include "cli.h"

#include "acl.h"
#include "args.h"
#include "audit-scan.h"
#include "env.h"
#include "resultline.h"
#include "system.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
"Usage: capsid audit [options] [DIR...]\n"
"\n"
"Looks for directories and files a sandboxed job could write although no\n"
"policy grants it: writable by \"other\" (mode o+w), owned by a group the\n"
"job holds with g+w, or with a POSIX ACL entry granting write to such a\n"
"group. Each DIR and its direct children are checked; without DIR, the\n"
"places a job can reach: the workspace's direct children (--cwd), /tmp,\n"
"/var/tmp, $TMPDIR, $HOME, every $PATH entry, and / and /usr one level\n"
"deep. Paths inside --writable-root are not reported. The scan is\n"
"time-boxed and says when the budget ran out. It changes nothing it scans;\n"
"it runs on capsid's worker pool (one place per thread at a time) and\n"
"records what it saw beside the ACL records in the state directory\n"
"(`capsid uninstall` removes it); with --incremental a place\n"
"whose change time did not move since that record is not listed again\n"
"(only its earlier findings are looked at again: a mode or DACL changed\n"
"since on an entry that was clean is missed until a full scan, which\n"
"every scan is again once the record of a place is a day old).\n"
"\n"
"On Windows it looks for DACLs that let Everyone, Users or Authenticated\n"
"Users write; without DIR it scans the places a job reaches: the\n"
"workspace, %TEMP%, %TMP%, %USERPROFILE%, %PUBLIC%, %ProgramData%, every\n"
"%PATH% entry, %SystemRoot% and its Tasks, Temp, tracing,\n"
"System32\\Tasks and System32\\spool\\drivers\\color, and every directory\n"
"under the system drive's root, each one level deep. Those Everyone may\n"
"write, a job could write too (its token holds Everyone): capsid denies\n"
"them to its jobs before each job, and says \"denied\" where that deny is\n"
"in place (`capsid uninstall` takes it back).\n"
"\n"
"Options:\n"
"  -C, --cwd DIR            the workspace (its direct children are scanned)\n"
"  -w, --writable-root DIR  not reported (repeatable; the workspace is one)\n"
"  -g, --gid GID            a group the job holds (repeatable)\n"
"  -b, --budget DURATION    time box, default 2s (500ms, 10s; a bare\n"
"                           number is seconds)\n"
"      --json               one JSON object on stdout\n"
"      --incremental        reuse the recorded scan where nothing moved\n"
"      --progress           a progress line on a terminal\n"
"\n"
"Exit status: 0 nothing found, 1 findings, 2 bad usage.\n"
"\n"
"Example:\n"
"  capsid audit -C ~/src/app -g 61000 --json\n";

enum {
  OPT_CWD = 1, OPT_WRITABLE, OPT_GID, OPT_BUDGET, OPT_JSON, OPT_HELP,
  OPT_INCREMENTAL, OPT_PROGRESS
};

static const capsid__option_t options[] = {
    {'C', "cwd", 1, OPT_CWD},       {'w', "writable-root", 1, OPT_WRITABLE},
    {'g', "gid", 1, OPT_GID},       {'b', "budget", 1, OPT_BUDGET},
    {0, "json", 0, OPT_JSON},       {'h', "help", 0, OPT_HELP},
    {0, "incremental", 0, OPT_INCREMENTAL},
    {0, "progress", 0, OPT_PROGRESS},
    {0, NULL, 0, 0}};


/* The line `capsid acl apply --progress` draws, with the audit's words. */
static void on_progress(const capsid__acl_stats_t* s, void* data) {
  cli_progress_tree(data, "scanning", "found", s);
}


int cli_cmd_audit(int argc, char** argv) {
  const char* cmd = "capsid audit";
  capsid__strv_t writable = {0}, dirs = {0};
  capsid__acl_scan_opts_t so;
  capsid__acl_audit_opts_t* o = &so.audit;
  capsid__acl_audit_t found;
  cli_progress_t bar;
  uint32_t gids[64];
  size_t n_gids = 0, i;
  int json = 0, progress = 0, opt, rc, os_error = 0;
  char* canon = NULL;
  char* end;
  unsigned long g;
  capsid__args_t a;

  memset(&so, 0, sizeof(so));
  so.full = 1;
  capsid__args_init(&a, cmd, argc, argv);
  while ((opt = capsid__args_next(&a, options)) > 0) {
    switch (opt) {
    case OPT_CWD:
      capsid__free(canon);
      canon = NULL;
      if (capsid__path_canonical(NULL, a.value, &canon, &os_error) != 0) {
        fprintf(stderr, "%s: --cwd: cannot resolve \"%s\"\n", cmd, a.value);
        return 2;
      }
      o->workspace = canon;
      capsid__strv_push(&writable, canon);
      break;
    case OPT_WRITABLE:
      capsid__strv_push(&writable, a.value);
      break;
    case OPT_GID:
      g = strtoul(a.value, &end, 10);
      if (a.value[0] == '\0' || *end != '\0' || g >= 0xffffffffu) {
        fprintf(stderr, "%s: --gid: \"%s\" is not a numeric gid\n", cmd,
                a.value);
        return 2;
      }
      if (n_gids < CAPSID__ARRAY_SIZE(gids))
        gids[n_gids++] = (uint32_t)g;
      break;
    case OPT_BUDGET:
      if (capsid_parse_duration(a.value, &o->budget_ms) != 0 ||
          o->budget_ms == 0) {
        fprintf(stderr, "%s: --budget: \"%s\" is not a duration\n", cmd,
                a.value);
        return 2;
      }
      break;
    case OPT_JSON: json = 1; break;
    case OPT_INCREMENTAL: so.full = 0; break;
    case OPT_PROGRESS: progress = 1; break;
    case OPT_HELP: fputs(help, stdout); return 0;
    }
  }
  if (opt < 0)
    return 2;
  for (; a.index < argc; a.index++)
    capsid__strv_push(&dirs, argv[a.index]);
  if (dirs.n == 0 && capsid__system_audit_places(o->workspace, &dirs) != 0) {
    fprintf(stderr, "%s: %s\n", cmd, capsid_strerror(CAPSID_ENOMEM));
    return 2;
  }
  o->dirs = dirs.n ? (const char* const*)dirs.v : NULL;
  o->writable = (const char* const*)writable.v;
  o->gids = gids;
  o->n_gids = n_gids;
  so.state_dir = capsid__state_dir();
  cli_progress_init(&bar, progress, -1);
  so.progress = bar.enabled ? on_progress : NULL;
  so.data = &bar;
  rc = capsid__acl_audit_scan(&so, &found, NULL);
  if (rc != 0) {
    fprintf(stderr, "%s: %s\n", cmd, capsid_strerror(rc));
    return 2;
  }
  if (json) {
    json_t* arr = json_array();
    json_t* obj;
    for (i = 0; i < found.n; i++) {
      json_t* f = json_pack("{s:o,s:s,s:s}", "path",
                            scale_json_path(found.v[i].path), "type",
                            found.v[i].is_dir ? "dir" : "file", "why",
                            found.v[i].why);
      int denied = capsid__system_audit_denied(found.v[i].path);
      if (denied >= 0) /* only where the system denies findings */
        json_object_set_new(f, "denied", json_boolean(denied));
      json_array_append_new(arr, f);
    }
    obj = json_pack("{s:o,s:I,s:b,s:f}", "findings", arr, "scanned",
                    (json_int_t)found.scanned, "timed_out", found.timed_out,
                    "seconds", found.elapsed_ms / 1e3);
    scale_print_json_line(obj);
    json_decref(obj);
  } else {
    for (i = 0; i < found.n; i++)
      printf("%s%s  (%s%s)\n", found.v[i].path, found.v[i].is_dir ? "/" : "",
             found.v[i].why,
             capsid__system_audit_denied(found.v[i].path) == 1
                 ? "; denied to capsid's jobs"
                 : "");
    fprintf(stderr, "capsid audit: %zu found, %llu checked in %.3f s%s\n",
            found.n, (unsigned long long)found.scanned,
            found.elapsed_ms / 1e3,
            found.timed_out ? " (budget ran out: not everything was seen)"
                            : "");
  }
  rc = found.n > 0 ? 1 : 0;
  capsid__acl_audit_free(&found);
  capsid__strv_free(&writable);
  capsid__strv_free(&dirs);
  capsid__free(canon);
  return rc;
}
