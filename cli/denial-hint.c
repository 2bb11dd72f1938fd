/* The hint `capsid run` prints when a job fails after its sandbox refused
 * it something: which paths, by which rule, and what the job may write,
 * so an agent reading stderr learns where to write instead of retrying
 * blindly. One line; the result's "sandbox" and "denials" hold the same. */
#include "cli.h"

#include <jansson.h>
#include <stdio.h>

#define HINT_PATHS 3 /* refused paths named on the line; the rest counted */

static void print_list(const char* label, json_t* list) {
  json_t* v;
  size_t i;

  if (!json_is_array(list) || json_array_size(list) == 0)
    return;
  fprintf(stderr, "; %s: ", label);
  json_array_foreach(list, i, v)
    fprintf(stderr, "%s%s", i ? ", " : "", json_string_value(v));
}


void cli_denial_hint(const capsid_result_t* r) {
  json_t* denials;
  json_t* sandbox;
  json_t* d;
  size_t i, n;

  if (r->error.code != 0 || (r->exit_code == 0 && r->signal == 0) ||
      r->denials == NULL || r->sandbox == NULL)
    return;
  denials = json_loads(r->denials, 0, NULL);
  sandbox = json_loads(r->sandbox, 0, NULL);
  n = json_array_size(denials);
  if (n > 0 && json_is_object(sandbox)) {
    fprintf(stderr, "capsid: the sandbox refused ");
    json_array_foreach(denials, i, d) {
      if (i == HINT_PATHS) {
        fprintf(stderr, " and %zu more", n - i);
        break;
      }
      fprintf(stderr, "%s%s %s (%s)", i ? ", " : "",
              json_string_value(json_object_get(d, "op")),
              json_string_value(json_object_get(d, "path")),
              json_string_value(json_object_get(d, "rule")));
    }
    if (json_array_size(json_object_get(sandbox, "writable_roots")) == 0)
      fprintf(stderr, "; nothing is writable (policy %s)",
              json_string_value(json_object_get(sandbox, "policy")));
    print_list("writable roots", json_object_get(sandbox, "writable_roots"));
    print_list("read-only inside them",
               json_object_get(sandbox, "protected_paths"));
    print_list("not readable", json_object_get(sandbox, "deny_read"));
    fprintf(stderr, "\n");
  }
  json_decref(denials);
  json_decref(sandbox);
}
