/* What a job ran under and what it was refused (sandbox/denials.c): the
 * result's "sandbox" object and "denials" list, as compact JSON text. */
#ifndef CAPSID_DENIALS_H
#define CAPSID_DENIALS_H

#include "policy.h"

/* The most denials one result lists; the rest are counted, not listed. */
#define CAPSID__DENIALS_MAX 16

/* {"policy":"workspace-write","writable_roots":[..],"protected_paths":
 *  [..],"deny_read":[..],"network":false}, or NULL without memory. */
char* capsid__sandbox_json(const capsid__sandbox_t* sb);

/* [{"op":"write","path":"/etc/x","rule":"outside writable roots"}, ..]:
 * the refusals the job reported on stderr (the messages of EROFS, EACCES
 * and EPERM, which name the path), each classified by the policy rule
 * that covers the path; a refused path no rule of the policy covers is
 * not the sandbox's doing and is left out. Then the refusals the kernel
 * itself reported (capsid__kdenials_take), classified the same way and
 * marked "source":"kernel" (rule "landlock" where no rule of the policy
 * covers the path), unless stderr named the path already. "[]" when
 * there are none; NULL without memory. */
char* capsid__denials_json(const capsid__sandbox_t* sb, const char* text,
                           size_t len);

/* One refusal the kernel itself reported: what the job tried ("read",
 * "write", "execute", "connect", "bind") and the path (for a file it
 * could not make, its directory; "tcp:PORT" for a connection). */
typedef struct capsid__kdenial_s {
  char op[12];
  char* path;
} capsid__kdenial_t;

/* Per OS: the refusals the kernel reported for the job that ran under sb
 * (Linux: Landlock's audit records, sandbox/linux/kdenials-linux.c), at
 * most CAPSID__DENIALS_MAX, in *out (free with capsid__kdenials_free);
 * forgets them. What came so far: it never waits (on Linux,
 * capsid__postexit waited for the rest off the loop). 0 where the kernel
 * reports nothing to capsid. */
size_t capsid__kdenials_take(const capsid__sandbox_t* sb,
                             capsid__kdenial_t** out);
void capsid__kdenials_free(capsid__kdenial_t* v, size_t n);

#endif
