/* The options every command takes (capsid__args_set_common): handed to
 * their handler from any command's parser, never to the command; the
 * command's own option of the same name wins; operands end them. */
#include "test-common.h"

#include "args.h"

#include <string.h>

enum { OWN_JOBS = 1, OWN_QUIET, COMMON_VERBOSE = 100, COMMON_QUIET };

static const capsid__option_t common[] = {
    {'v', "verbose", 0, COMMON_VERBOSE},
    {'q', "quiet", 0, COMMON_QUIET},
    {0, NULL, 0, 0}};

static int seen[8];
static int n_seen;


static int apply(const capsid__args_t* a, int id, const char* value) {
  (void)a;
  (void)value;
  if (n_seen + 1 < (int)CAPSID__ARRAY_SIZE(seen))
    seen[n_seen++] = id;
  seen[n_seen] = 0;
  return 0;
}


/* got and want end with 0. */
static void assert_ids(const int* got, const int* want) {
  int i;

  for (i = 0; want[i] != 0; i++)
    assert_int_equal(got[i], want[i]);
  assert_int_equal(got[i], 0);
}


/* Parses argv with own; returns the ids the command saw, 0-terminated. */
static int parse(char** argv, const capsid__option_t* own, int* ids,
                 int* index) {
  capsid__args_t a;
  int argc = 0, n = 0, id;

  while (argv[argc] != NULL)
    argc++;
  n_seen = 0;
  seen[0] = 0;
  capsid__args_init(&a, "capsid test", argc, argv);
  while ((id = capsid__args_next(&a, own)) > 0)
    ids[n++] = id;
  ids[n] = 0;
  *index = a.index;
  return id;
}


/* Parses argv with the common options registered: the command must see
 * cmd_saw, the handler log_saw. Returns the index of the first operand. */
static int parse_with_common(char** argv, const capsid__option_t* own,
                             const int* cmd_saw, const int* log_saw) {
  int ids[16], index;

  capsid__args_set_common(common, apply);
  assert_int_equal(parse(argv, own, ids, &index), 0);
  capsid__args_set_common(NULL, NULL);
  assert_ids(ids, cmd_saw);
  assert_ids(seen, log_saw);
  return index;
}


static void test_common_options_go_to_their_handler(void** state) {
  static const capsid__option_t own[] = {{'j', "jobs", 1, OWN_JOBS},
                                         {0, NULL, 0, 0}};
  char* argv[] = {"cmd", "-j", "4", "--verbose", "-qj2", "-v", "file",
                  "--quiet", NULL};
  /* The command sees its -j twice and nothing else; the handler the
   * rest in order, but "--quiet" after the operand, which is the
   * operand's. */
  static const int cmd_saw[] = {OWN_JOBS, OWN_JOBS, 0};
  static const int log_saw[] = {COMMON_VERBOSE, COMMON_QUIET,
                                COMMON_VERBOSE, 0};

  (void)state;
  assert_string_equal(argv[parse_with_common(argv, own, cmd_saw, log_saw)],
                      "file");
}


static void test_own_option_wins(void** state) {
  static const capsid__option_t own[] = {{'q', "quiet", 0, OWN_QUIET},
                                         {0, NULL, 0, 0}};
  char* argv[] = {"cmd", "--quiet", "-q", "-v", NULL};
  static const int cmd_saw[] = {OWN_QUIET, OWN_QUIET, 0};
  static const int log_saw[] = {COMMON_VERBOSE, 0};

  (void)state;
  assert_int_equal(parse_with_common(argv, own, cmd_saw, log_saw), 4);
}


static void test_without_common_they_are_unknown(void** state) {
  static const capsid__option_t own[] = {{0, NULL, 0, 0}};
  char* argv[] = {"cmd", "--verbose", NULL};
  int ids[16], index;

  (void)state;
  capsid__args_set_common(NULL, NULL);
  assert_int_equal(parse(argv, own, ids, &index), -1);
  assert_int_equal(n_seen, 0);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_common_options_go_to_their_handler),
      cmocka_unit_test(test_own_option_wins),
      cmocka_unit_test(test_without_common_they_are_unknown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
