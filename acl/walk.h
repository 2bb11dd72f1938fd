/* The walk's shared state: the work items, the targets being walked,
 * and what the walking threads (walk.c) and the leader (lead.c) share.
 * lead.c drives walk.c, never the other way round: the pool's work item
 * (capsid__acl_walk_work) is in lead.c and decides who leads. */
#ifndef CAPSID_ACL_WALK_H
#define CAPSID_ACL_WALK_H

#include "acl-int.h"

/* Paths longer than this are not recorded: their directory is re-listed
 * on every apply instead (keeps the record and memory bounded on
 * pathologically deep trees). */
#define MAX_REL 2048
#define CHUNK 64
/* A recorded directory whose processing failed gets this ctime, which no
 * real directory has, so the next apply looks at it again. */
#define POISON_SEC (-1)

enum { ITEM_FULL = 1, ITEM_SHALLOW, ITEM_SINGLE };

typedef struct dref_s {
  capsid__acl_dir_t fd;
  int refs; /* under walk->mu */
} dref_t;

typedef struct item_s {
  struct item_s* next;
  int ti;
  int mode;
  dref_t* parent; /* NULL: open rel beneath the target root */
  char* name;
  char* rel; /* NULL when longer than MAX_REL */
} item_t;

typedef struct rslot_s {
  const char* rel;
  size_t i; /* its index in old->dirs */
} rslot_t;

typedef struct wtarget_s {
  const capsid__acl_target_t* t;
  capsid__acl_entry_t* set;
  size_t n_set;
  capsid__acl_entry_t* rm;
  size_t n_rm;
  capsid__acl_fsplan_t* fs;
  capsid__acl_dir_t root;
  uint64_t root_mnt;
  int present;
  int keep;     /* goes into the new record */
  uint64_t digest;
  const capsid__acl_rtarget_t* old; /* record to iterate, or NULL */
  rslot_t* slots; /* hash set of old->dirs[].rel */
  size_t mask;
  uint64_t (*skip)[2]; /* (dev, ino) of nested targets' roots */
  size_t n_skip;
  capsid__acl_rtarget_t out; /* directories for the new record */
  int failed;
  /* A tracked apply (opts.touched, track.c): per old->dirs[i], nonzero
   * when the record cursor looks at it; the others are kept as recorded
   * unless beneath a directory in dropped (found gone or replaced; under
   * walk->mu). NULL: every recorded directory is looked at. */
  unsigned char* check;
  capsid__strv_t dropped;
} wtarget_t;

struct capsid__acl_walk_s {
  uv_mutex_t mu;
  uv_cond_t cv;
  int led;   /* an item has taken the lead */
  int ready; /* 1: walk; -1: the leader failed */
  int finished;
  unsigned walkers;
  unsigned busy;
  item_t* stack;
  size_t cur_t, cur_d;
  wtarget_t* targets;
  size_t n_targets;
  capsid__acl_record_t old;
  int have_old;
  capsid__acl_dir_t lock;
  int dry_run;
  int same_plan; /* the record describes exactly this plan, complete */
};

typedef struct local_s {
  capsid__acl_op_t* op;
  capsid__acl_walk_t* w;
  uint64_t dirs, files, changed, unchanged, links, xdev, special, errors;
} local_t;


/* walk.c */
int capsid__acl_slots_build(wtarget_t* wt);
/* Does list hold an entry for e's principal with (at least) e's scope? */
int capsid__acl_has_entry(const capsid__acl_entry_t* v, size_t n,
                          const capsid__acl_entry_t* e);
void capsid__acl_item_free(capsid__acl_walk_t* w, item_t* it);
/* The index in old->dirs of the recorded directory rel, or -1. */
long capsid__acl_slots_find(const wtarget_t* wt, const char* rel);
/* Takes directories and record chunks until the walk is finished. */
void capsid__acl_walk_loop(local_t* l);

/* track.c: a tracked apply. prepare marks which recorded directories of
 * wt the cursor looks at (after the slots are built); finish keeps the
 * others in wt->out once the walkers are done, and counts them. */
int capsid__acl_track_prepare(wtarget_t* wt, const capsid__acl_touched_t* t);
int capsid__acl_track_finish(wtarget_t* wt, uint64_t* kept);

#endif
