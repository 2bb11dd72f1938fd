/* capsid setup and capsid uninstall: elevated mode's one-time set-up and
 * its complete removal (root, or an administrator on Windows). Both print
 * one line per step and share the same driver; only the system call,
 * options, help and closing line differ. Setup is idempotent (what exists
 * is kept); uninstall removes every ACL entry, identity record, cgroup
 * parent and state file capsid added, hands back what jobs own, then
 * checks that nothing is left. */
#include "cli.h"

#include "args.h"
#include "policy.h"
#include "system.h"

#include <stdio.h>
#include <string.h>

typedef struct system_cmd_s {
  const char* name;
  const char* help;
  int (*run)(capsid__report_cb cb, void* data, capsid_error_t* err);
  int read_roots; /* takes --read-root */
  const char* done;
} system_cmd_t;

static const system_cmd_t setup_cmd = {
    "setup",
    "Usage: capsid setup [--read-root DIR]...\n"
    "\n"
    "Prepares elevated mode. Linux (as root): the state directory\n"
    "(/var/lib/capsid, or $CAPSID_STATE_DIR), the reserved identity range\n"
    "and capability store, and the cgroup parents. Windows (as an\n"
    "administrator): the users CapsidOffline and CapsidOnline, the group\n"
    "CapsidSandboxUsers, their DPAPI-protected passwords and the firewall\n"
    "rules that cut the offline user off the network. Safe to rerun.\n"
    "\n"
    "Elevated jobs run as identities of their own, so outside their\n"
    "writable roots they read only what every user may read.\n"
    "\n"
    "Capsid running as root makes only the invoking user's directories\n"
    "writable ($SUDO_UID under sudo, else root's own). To allow others,\n"
    "list them, one absolute path a line (# comments), in the state\n"
    "directory's file allowed-roots (root's alone: mode 0644 or\n"
    "stricter); a listed directory allows everything below it. System\n"
    "trees and links a job could have made stay refused (see capsid\n"
    "help run).\n"
    "\n"
    "  -r, --read-root DIR  let elevated jobs read DIR (r-X for the sandbox\n"
    "                       users' group, inherited; on Linux also x on its\n"
    "                       ancestors). Repeatable; grants add up over runs.\n"
    "                       Written and recorded by the ACL engine.\n"
    "  -h, --help           this text\n"
    "\n"
    "`capsid uninstall` removes all of it, read roots included.\n"
    "Exit status: 0 done, 1 a step failed (named), 2 bad usage.\n",
    capsid__system_setup, 1,
    "capsid is set up: elevated mode is available (see capsid doctor)\n"};

static const system_cmd_t uninstall_cmd = {
    "uninstall",
    "Usage: capsid uninstall\n\n"
    "Removes what `capsid setup` and elevated jobs added: every ACL\n"
    "entry capsid wrote (from its records), the capability store and\n"
    "state directory, the cgroup parents this install's setup made\n"
    "(Linux; one that existed before is kept, and said so), the sandbox\n"
    "users, group and firewall rules (Windows). On Linux every inode\n"
    "under a workspace that a capsid identity still owns, at any depth\n"
    "and of any type, goes to the workspace's owner. Then it checks: no\n"
    "inode there may still be owned by or name a capsid id; if one is,\n"
    "it is named, the state directory is kept (its ids are not handed\n"
    "out again) and uninstall exits 1, to be run again. Run as root\n"
    "(Linux) or as an administrator (Windows).\n",
    capsid__system_uninstall, 0, "capsid is uninstalled\n"};

enum { OPT_READ_ROOT = 1, OPT_HELP };

static const capsid__option_t options[] = {
    {'r', "read-root", 1, OPT_READ_ROOT},
    {'h', "help", 0, OPT_HELP},
    {0, NULL, 0, 0}};

static const capsid__option_t help_only[] = {{'h', "help", 0, OPT_HELP},
                                         {0, NULL, 0, 0}};


static void line(void* data, const char* feature, int ok,
                 const char* detail) {
  (void)data;
  printf("%-4s %-20s %s\n", ok ? "ok" : "--", feature, detail);
}


/* The read root as given, canonical; prints the error and returns -1 when
 * it is not an existing directory. */
static int read_root(const char* cmd, const char* value,
                     capsid__strv_t* roots) {
  char* canon = NULL;
  int os_error = 0, rc;

  rc = capsid__path_canonical(NULL, value, &canon, &os_error);
  if (rc == 0 && capsid__path_is_dir(canon, &os_error) != 1)
    rc = CAPSID_ENOTDIR;
  if (rc != 0) {
    fprintf(stderr, "%s: --read-root: \"%s\" is not an existing directory "
            "(%s)\n", cmd, value, capsid_strerror(rc));
    capsid__free(canon);
    return -1;
  }
  rc = capsid__strv_push(roots, canon);
  capsid__free(canon);
  return rc == 0 ? 0 : -1;
}


static int run_system_cmd(const system_cmd_t* cmd, int argc, char** argv) {
  capsid__strv_t roots = {0};
  capsid_error_t err = {0};
  char name[32], msg[1024];
  capsid__args_t a;
  int opt = 0, rc = 0;

  snprintf(name, sizeof(name), "capsid %s", cmd->name);
  capsid__args_init(&a, name, argc, argv);
  while (rc == 0 &&
         (opt = capsid__args_next(&a, cmd->read_roots ? options : help_only)) >
             0) {
    if (opt == OPT_HELP) {
      fputs(cmd->help, stdout);
      capsid__strv_free(&roots);
      return 0;
    }
    rc = read_root(name, a.value, &roots);
  }
  if (rc != 0 || opt < 0 || a.index < argc) {
    if (rc == 0 && opt >= 0)
      fprintf(stderr, "%s: unexpected argument \"%s\" (see --help)\n", name,
              argv[a.index]);
    capsid__strv_free(&roots);
    return 2;
  }
  rc = cmd->run(line, NULL, &err);
  if (rc == 0 && roots.n > 0)
    rc = capsid__system_read_roots((const char* const*)roots.v, line, NULL,
                                   &err);
  capsid__strv_free(&roots);
  if (rc != 0) {
    fprintf(stderr, "%s: %s\n", name,
            capsid_error_format(&err, msg, sizeof(msg)));
    capsid__error_free(&err);
    return 1;
  }
  fputs(cmd->done, stdout);
  return 0;
}


int cli_cmd_setup(int argc, char** argv) {
  return run_system_cmd(&setup_cmd, argc, argv);
}


int cli_cmd_uninstall(int argc, char** argv) {
  return run_system_cmd(&uninstall_cmd, argc, argv);
}
