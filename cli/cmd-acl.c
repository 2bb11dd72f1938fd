/* capsid acl apply|status|revoke: the ACL engine by hand. */
#include "cli.h"

#include "acl.h"
#include "args.h"
#include "log.h"
#include "resultline.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char help[] =
"Usage: capsid acl apply|status|revoke --cwd DIR --uid UID [options]\n"
"\n"
"Grants a workspace's capability identity write access to the workspace\n"
"and its extra writable roots with POSIX ACLs (DACLs on Windows), and\n"
"takes it back.\n"
"\n"
"  apply    Make the tree match the plan: u:UID:rwX on every inode of each\n"
"           writable root, default entries for UID and for the real owner\n"
"           on every directory (so the owner keeps full access to what the\n"
"           sandbox creates), read-only entries on .git, .codex, .agents\n"
"           and the --read-only paths, and traverse (x) for the sandbox\n"
"           group on ancestors that others cannot traverse. Existing\n"
"           entries are kept. The first apply walks everything; later ones\n"
"           re-check each directory against the record and walk only what\n"
"           changed.\n"
"  status   What the record says was granted, and how many directories\n"
"           changed since (read only; --full also counts every inode that\n"
"           differs from the plan).\n"
"  revoke   Remove every entry capsid recorded for the workspace and drop\n"
"           the record. Entries that were there before capsid stay.\n"
"\n"
"The walker never follows a symlink, never leaves the root's mount, and\n"
"skips (and reports) symlinks, FIFOs, sockets, devices and files with more\n"
"than one link: a hard link to a file outside must not become writable.\n"
"\n"
"Options:\n"
"  -C, --cwd DIR            the workspace root (default: .)\n"
"  -w, --writable-root DIR  extra writable root (repeatable)\n"
"  -r, --read-only PATH     read-only carve-out (repeatable)\n"
"      --uid UID            the workspace identity (required)\n"
"      --root-gid GID       identity of the next extra root (repeatable;\n"
"                           default: the workspace uid)\n"
"      --owner UID          the real owner (default: owner of DIR)\n"
"      --users-gid GID      the sandbox users group (default: capsid-users\n"
"                           or, without it, UID)\n"
"      --ro-gid GID         the read-only group for deny mirrors\n"
"      --audit              run the world-writable audit first and add its\n"
"                           findings as deny mirrors\n"
"      --state-dir DIR      records and locks (default: $CAPSID_STATE_DIR,\n"
"                           /var/lib/capsid as root, else\n"
"                           ~/.local/state/capsid)\n"
"  -j, --threads N          walker threads (default: CPUs)\n"
"      --full               ignore the record and walk everything\n"
"      --no-wait            fail at once if another capsid holds the lock\n"
"      --progress           a progress line on a terminal\n"
"      --verbose            also list every skipped inode on stderr\n"
"      --json               one JSON object on stdout\n"
"\n"
"On Windows every UID and GID above is a SID (S-1-5-21-...) or an account\n"
"name instead (\"--uid S-1-5-21-1-2-3-1000\", \"--users-gid Users\"); the\n"
"default owner is the owner SID of DIR.\n"
"\n"
"Exit status: 0 done, 1 done with errors (the first is printed), 2 bad\n"
"usage, 3 lock busy (--no-wait).\n"
"\n"
"Examples:\n"
"  capsid acl apply -C ~/src/app --uid 61001 --progress\n"
"  capsid acl status -C ~/src/app --uid 61001\n"
"  capsid acl revoke -C ~/src/app --uid 61001\n";

enum {
  OPT_CWD = 1, OPT_WRITABLE, OPT_READ_ONLY, OPT_UID, OPT_ROOT_GID, OPT_OWNER,
  OPT_USERS, OPT_RO, OPT_AUDIT, OPT_STATE, OPT_THREADS, OPT_FULL,
  OPT_NO_WAIT, OPT_PROGRESS, OPT_JSON, OPT_HELP
};

static const capsid__option_t options[] = {
    {'C', "cwd", 1, OPT_CWD},
    {'w', "writable-root", 1, OPT_WRITABLE},
    {'r', "read-only", 1, OPT_READ_ONLY},
    {0, "uid", 1, OPT_UID},
    {0, "root-gid", 1, OPT_ROOT_GID},
    {0, "owner", 1, OPT_OWNER},
    {0, "users-gid", 1, OPT_USERS},
    {0, "ro-gid", 1, OPT_RO},
    {0, "audit", 0, OPT_AUDIT},
    {0, "state-dir", 1, OPT_STATE},
    {'j', "threads", 1, OPT_THREADS},
    {0, "full", 0, OPT_FULL},
    {0, "no-wait", 0, OPT_NO_WAIT},
    {0, "progress", 0, OPT_PROGRESS},
    {0, "json", 0, OPT_JSON},
    {'h', "help", 0, OPT_HELP},
    {0, NULL, 0, 0}};


const char* cli_state_dir(void) {
  static char buf[4096];
  const char* v = getenv("CAPSID_STATE_DIR");

  if (v != NULL && v[0] != '\0')
    return v;
  if ((v = CLI_OS_STATE_DIR()) != NULL)
    return v;
  if (geteuid() == 0)
    return "/var/lib/capsid";
  if ((v = getenv("XDG_STATE_HOME")) != NULL && v[0] == '/')
    snprintf(buf, sizeof(buf), "%s/capsid", v);
  else
    snprintf(buf, sizeof(buf), "%s/.local/state/capsid",
             getenv("HOME") ? getenv("HOME") : "/tmp");
  return buf;
}


/* Reads the principal an option names (a numeric id; on Windows a SID or
 * an account name). Prints the error and returns -1 when it is neither. */
static int parse_who(const char* cmd, const char* opt, const char* v,
                     capsid__acl_who_kind_t kind,
                     capsid__acl_principal_t* out) {
  capsid_error_t err = {0};
  char msg[512];

  capsid__acl_principal_free(out);
  if (capsid__acl_principal_parse(v, kind, opt, out, &err) == 0)
    return 0;
  fprintf(stderr, "%s: %s\n", cmd, err.message ? err.message
                                               : capsid_error_format(&err, msg,
                                                                     sizeof(msg)));
  capsid__error_free(&err);
  return -1;
}


typedef struct {
  cli_progress_t bar;
  int verbose;
} ui_t;


static void on_progress(const capsid__acl_stats_t* s, void* data) {
  ui_t* ui = data;

  cli_progress_tree(&ui->bar,
                    s->phase == CAPSID__ACL_PHASE_LOCKING
                        ? "waiting for the lock"
                        : "walking",
                    "changed", s);
}


static void on_skip(const char* root, const char* path, const char* why,
                    void* data) {
  ui_t* ui = data;

  if (!ui->verbose)
    return;
  flockfile(stderr);
  fprintf(stderr, "capsid acl: skipped %s/%s: %s\n", root, path, why);
  funlockfile(stderr);
}


static const char* kind_name(capsid__acl_target_kind_t k) {
  switch (k) {
  case CAPSID__ACL_T_WRITE: return "write";
  case CAPSID__ACL_T_READ_ONLY: return "read-only";
  case CAPSID__ACL_T_READ: return "read";
  case CAPSID__ACL_T_TRAVERSE: return "traverse";
  case CAPSID__ACL_T_DENY: return "deny";
  }
  return "?";
}


static void entry_text(const capsid__acl_entry_t* e, char* buf, size_t n) {
  char id[16];

  /* A SID where the principal has one (Windows), else the POSIX id. */
  snprintf(id, sizeof(id), "%u", e->who.id);
  snprintf(buf, n, "%s%s%s:%s:%c%c%c",
           e->perms & CAPSID__ACL_DENY ? "deny:" : "",
           e->scope & CAPSID__ACL_DEFAULT ? "d:" : "",
           e->who.kind == CAPSID__ACL_USER ? "u" : "g",
           e->who.sid != NULL ? e->who.sid : id,
           e->perms & CAPSID__ACL_R ? 'r' : '-',
           e->perms & CAPSID__ACL_W ? 'w' : '-',
           e->perms & CAPSID__ACL_XCOND ? 'X'
           : e->perms & CAPSID__ACL_X   ? 'x'
                                        : '-');
}


static json_t* stats_json(const capsid__acl_stats_t* s) {
  return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:f}", "dirs",
                   (json_int_t)s->dirs, "files", (json_int_t)s->files,
                   "changed", (json_int_t)s->changed, "unchanged_dirs",
                   (json_int_t)s->unchanged_dirs, "skipped_links",
                   (json_int_t)s->skipped_links, "skipped_other_fs",
                   (json_int_t)s->skipped_xdev, "skipped_special",
                   (json_int_t)s->skipped_special, "errors",
                   (json_int_t)s->errors, "full_walk", s->full, "seconds",
                   s->elapsed_ms / 1e3);
}


static json_t* plan_json(const capsid__acl_plan_t* p) {
  json_t* arr = json_array();
  char buf[128];
  size_t i, j;

  for (i = 0; i < p->n_targets; i++) {
    json_t* ents = json_array();
    for (j = 0; j < p->targets[i].n_entries; j++) {
      entry_text(&p->targets[i].entries[j], buf, sizeof(buf));
      json_array_append_new(ents, json_string(buf));
    }
    json_array_append_new(
        arr, json_pack("{s:s,s:o,s:b,s:o}", "kind",
                       kind_name(p->targets[i].kind), "path",
                       scale_json_path(p->targets[i].path), "recursive",
                       p->targets[i].recursive, "entries", ents));
  }
  return arr;
}


static void print_plan(FILE* f, const capsid__acl_plan_t* p) {
  char buf[128];
  size_t i, j;

  for (i = 0; i < p->n_targets; i++) {
    fprintf(f, "  %-9s %s%s:", kind_name(p->targets[i].kind),
            p->targets[i].path, p->targets[i].recursive ? "/**" : "");
    for (j = 0; j < p->targets[i].n_entries; j++) {
      entry_text(&p->targets[i].entries[j], buf, sizeof(buf));
      fprintf(f, " %s", buf);
    }
    fputc('\n', f);
  }
}


int cli_cmd_acl(int argc, char** argv) {
  const char* cmd = "capsid acl";
  capsid__strv_t writable = {0}, read_only = {0}, deny = {0};
  capsid__acl_principal_t roots[32];
  capsid__acl_principal_t ws, owner, users, ro;
  const capsid__acl_principal_t* users_eff = &users;
  const capsid__acl_principal_t* ro_eff = &ro;
  capsid__acl_action_t action;
  capsid__acl_plan_in_t in;
  capsid__acl_plan_t plan;
  capsid__acl_opts_t opts;
  capsid__acl_stats_t stats;
  capsid__acl_info_t info;
  capsid__policy_t policy;
  capsid__sandbox_t sb;
  capsid__resolve_in_t rin;
  capsid_error_t err = {0};
  const char* cwd = ".";
  int have_uid = 0, have_owner = 0, have_users = 0, have_ro = 0;
  int do_audit = 0, json = 0, progress = 0, opt, rc, status = 0;
  size_t n_roots = 0, i;
  ui_t ui;
  capsid__args_t a;
  char msg[1024];
  uint64_t v;

  memset(&opts, 0, sizeof(opts));
  memset(&policy, 0, sizeof(policy));
  memset(&sb, 0, sizeof(sb));
  memset(&rin, 0, sizeof(rin));
  memset(roots, 0, sizeof(roots));
  memset(&ws, 0, sizeof(ws));
  memset(&owner, 0, sizeof(owner));
  memset(&users, 0, sizeof(users));
  memset(&ro, 0, sizeof(ro));
  memset(&ui, 0, sizeof(ui));
  opts.state_dir = cli_state_dir();
  if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
      strcmp(argv[1], "-h") == 0) {
    fputs(help, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "apply") == 0)
    action = CAPSID__ACL_APPLY;
  else if (strcmp(argv[1], "status") == 0)
    action = CAPSID__ACL_STATUS;
  else if (strcmp(argv[1], "revoke") == 0)
    action = CAPSID__ACL_REVOKE;
  else {
    fprintf(stderr, "%s: unknown action '%s' (apply, status or revoke)\n",
            cmd, argv[1]);
    return 2;
  }
  capsid__args_init(&a, cmd, argc - 1, argv + 1);
  while ((opt = capsid__args_next(&a, options)) > 0) {
    switch (opt) {
    case OPT_CWD: cwd = a.value; break;
    case OPT_WRITABLE: capsid__strv_push(&writable, a.value); break;
    case OPT_READ_ONLY: capsid__strv_push(&read_only, a.value); break;
    case OPT_UID:
      if (parse_who(cmd, "--uid", a.value, CAPSID__ACL_USER, &ws) != 0)
        goto usage;
      have_uid = 1;
      break;
    case OPT_ROOT_GID:
      if (n_roots == CAPSID__ARRAY_SIZE(roots)) {
        fprintf(stderr, "%s: --root-gid: at most %zu\n", cmd,
                CAPSID__ARRAY_SIZE(roots));
        goto usage;
      }
      if (parse_who(cmd, "--root-gid", a.value, CAPSID__ACL_GROUP,
                    &roots[n_roots]) != 0)
        goto usage;
      n_roots++;
      break;
    case OPT_OWNER:
      if (parse_who(cmd, "--owner", a.value, CAPSID__ACL_USER, &owner) != 0)
        goto usage;
      have_owner = 1;
      break;
    case OPT_USERS:
      if (parse_who(cmd, "--users-gid", a.value, CAPSID__ACL_GROUP,
                    &users) != 0)
        goto usage;
      have_users = 1;
      break;
    case OPT_RO:
      if (parse_who(cmd, "--ro-gid", a.value, CAPSID__ACL_GROUP, &ro) != 0)
        goto usage;
      have_ro = 1;
      break;
    case OPT_AUDIT: do_audit = 1; break;
    case OPT_STATE: opts.state_dir = a.value; break;
    case OPT_THREADS:
      if (capsid__args_count(a.value, &v) != 0 || v == 0 || v > 256) {
        fprintf(stderr, "%s: --threads: \"%s\" is not a count from 1 to "
                "256\n", cmd, a.value);
        goto usage;
      }
      opts.threads = (unsigned)v;
      break;
    case OPT_FULL: opts.full = 1; break;
    case OPT_NO_WAIT: opts.no_wait = 1; break;
    case OPT_PROGRESS: progress = 1; break;
    case OPT_JSON: json = 1; break;
    case OPT_HELP: fputs(help, stdout); goto out;
    }
  }
  ui.verbose = capsid__log_enabled(CAPSID__LOG_DEBUG); /* --verbose */
  if (opt < 0)
    goto usage;
  if (a.index < a.argc) {
    fprintf(stderr, "%s: unexpected argument \"%s\"\n", cmd,
            a.argv[a.index]);
    goto usage;
  }
  if (!have_uid) {
    fprintf(stderr, "%s %s: --uid is required (the workspace identity)\n",
            cmd, argv[1]);
    goto usage;
  }

  rc = capsid__policy_parse("workspace-write", &policy, &err);
  rin.cwd = cwd;
  rin.extra_writable = (const char* const*)writable.v;
  rin.extra_read_only = (const char* const*)read_only.v;
  rin.network = -1;
  if (rc == 0)
    rc = capsid__sandbox_resolve(&policy, &rin, &sb, &err);
  if (rc != 0) {
    fprintf(stderr, "%s: %s\n", cmd, capsid_error_format(&err, msg,
                                                         sizeof(msg)));
    goto usage;
  }
  if (!have_owner &&
      capsid__acl_principal_owner(sb.cwd, &owner, &err) != 0) {
    fprintf(stderr, "%s: %s\n", cmd, capsid_error_format(&err, msg,
                                                         sizeof(msg)));
    status = 1;
    goto out;
  }
  /* The sandbox group defaults to the workspace identity, the read-only
   * group to the sandbox group (shared, not copied). */
  if (!have_users)
    users_eff = &ws;
  if (!have_ro)
    ro_eff = users_eff;

  if (do_audit && action == CAPSID__ACL_APPLY) {
    capsid__acl_audit_opts_t ao;
    capsid__acl_audit_t found;
    memset(&ao, 0, sizeof(ao));
    ao.workspace = sb.cwd;
    ao.writable = (const char* const*)sb.writable.v;
    ao.gids = &users_eff->id;
    ao.n_gids = 1;
    if (capsid__acl_audit(&ao, &found) == 0)
      for (i = 0; i < found.n; i++)
        if (found.v[i].is_dir)
          capsid__strv_push(&deny, found.v[i].path);
    capsid__acl_audit_free(&found);
  }

  memset(&in, 0, sizeof(in));
  in.sandbox = &sb;
  in.ids.workspace = ws;
  in.ids.owner = owner;
  in.ids.users = *users_eff;
  in.ids.users.kind = CAPSID__ACL_GROUP;
  in.ids.read_only = *ro_eff;
  in.ids.read_only.kind = CAPSID__ACL_GROUP;
  in.ids.roots = roots;
  in.ids.n_roots = n_roots;
  in.deny_dirs = (const char* const*)deny.v;
  rc = capsid__acl_plan_build(&in, &plan, &err);
  if (rc != 0) {
    fprintf(stderr, "%s: %s\n", cmd, capsid_error_format(&err, msg,
                                                         sizeof(msg)));
    goto usage;
  }

  cli_progress_init(&ui.bar, progress, -1);
  opts.progress = ui.bar.enabled ? on_progress : NULL;
  opts.skipped = on_skip;
  opts.data = &ui;
  rc = capsid__acl_run(action, &plan, &opts, &stats, &err);
  if (rc == CAPSID_EBUSY)
    status = 3;
  else if (rc != 0)
    status = 1;

  memset(&info, 0, sizeof(info));
  if (action == CAPSID__ACL_STATUS)
    capsid__acl_info(opts.state_dir, plan.key, &info, NULL);
  if (json) {
    json_t* o = json_pack("{s:s,s:o,s:o}", "action", argv[1], "workspace",
                          scale_json_path(plan.key), "stats",
                          stats_json(&stats));
    if (action == CAPSID__ACL_STATUS) {
      json_object_set_new(o, "recorded", json_boolean(info.present));
      json_object_set_new(o, "complete", json_boolean(info.complete));
      json_object_set_new(o, "drifted_dirs", json_integer(stats.drifted));
      json_object_set_new(o, "granted", plan_json(&info.plan));
    } else {
      json_object_set_new(o, "plan", plan_json(&plan));
    }
    if (rc != 0)
      json_object_set_new(o, "error",
                          scale_json_path(capsid_error_format(&err, msg, sizeof(msg))));
    scale_print_json_line(o);
    json_decref(o);
  } else {
    if (action == CAPSID__ACL_STATUS) {
      if (!info.present) {
        printf("%s: nothing recorded (never applied, or revoked)\n",
               plan.key);
      } else {
        printf("%s: granted%s:\n", plan.key,
               info.complete ? "" : " (last apply did not finish: the "
                                    "next one walks everything)");
        print_plan(stdout, &info.plan);
        printf("drift: %d of %llu recorded directories changed since the "
               "last apply; %llu inodes would change\n",
               stats.drifted, (unsigned long long)info.n_dirs,
               (unsigned long long)stats.changed);
      }
    } else {
      printf("capsid acl %s: %s: %llu dirs, %llu files, %llu changed, %llu "
             "unchanged dirs skipped; skipped %llu multiply-linked, %llu on "
             "other mounts, %llu special; %llu errors; %.3f s%s\n",
             argv[1], plan.key, (unsigned long long)stats.dirs,
             (unsigned long long)stats.files,
             (unsigned long long)stats.changed,
             (unsigned long long)stats.unchanged_dirs,
             (unsigned long long)stats.skipped_links,
             (unsigned long long)stats.skipped_xdev,
             (unsigned long long)stats.skipped_special,
             (unsigned long long)stats.errors, stats.elapsed_ms / 1e3,
             stats.full ? " (full walk)" : "");
    }
    if (rc != 0)
      fprintf(stderr, "%s: %s\n", cmd,
              capsid_error_format(&err, msg, sizeof(msg)));
  }
  capsid__acl_info_free(&info);
  capsid__acl_plan_free(&plan);
  goto out;
usage:
  status = 2;
out:
  capsid__error_free(&err);
  capsid__sandbox_free(&sb);
  capsid__policy_free(&policy);
  capsid__strv_free(&writable);
  capsid__strv_free(&read_only);
  capsid__strv_free(&deny);
  for (i = 0; i < n_roots; i++)
    capsid__acl_principal_free(&roots[i]);
  capsid__acl_principal_free(&ws);
  capsid__acl_principal_free(&owner);
  capsid__acl_principal_free(&users);
  capsid__acl_principal_free(&ro);
  return status;
}
