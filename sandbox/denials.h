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
 * not the sandbox's doing and is left out. "[]" when there are none;
 * NULL without memory. */
char* capsid__denials_json(const capsid__sandbox_t* sb, const char* text,
                           size_t len);

#endif
