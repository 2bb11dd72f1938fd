/* Redis URL parsing: every part, defaults, and errors that name the part. */
#include "test-common.h"

#include "redis-url.h"

#include <string.h>

static void parse_ok(const char* url, scale_redis_url_t* u) {
  char err[256];

  if (scale_redis_url_parse(url, u, err, sizeof(err)) != 0)
    fail_msg("unexpected error for %s: %s", url, err);
}


/* The parse fails, and the message names the URL and holds needle. */
static void parse_fails(const char* url, const char* needle) {
  scale_redis_url_t u;
  char err[256];

  assert_int_equal(scale_redis_url_parse(url, &u, err, sizeof(err)),
                   CAPSID_EINVAL);
  if (strstr(err, needle) == NULL)
    fail_msg("message \"%s\" for %s lacks \"%s\"", err, url, needle);
  if (strncmp(err, "redis URL \"", 11) != 0)
    fail_msg("message \"%s\" does not quote the URL", err);
  /* Nothing is left allocated on failure. */
  assert_null(u.host);
  assert_null(u.user);
  assert_null(u.password);
}


static void test_url_defaults(void** state) {
  scale_redis_url_t u;

  (void)state;
  parse_ok("redis://localhost", &u);
  assert_string_equal(u.host, "localhost");
  assert_int_equal(u.port, 6379);
  assert_int_equal(u.db, 0);
  assert_null(u.user);
  assert_null(u.password);
  scale_redis_url_free(&u);

  parse_ok("redis://127.0.0.1:7000/", &u);
  assert_string_equal(u.host, "127.0.0.1");
  assert_int_equal(u.port, 7000);
  assert_int_equal(u.db, 0);
  scale_redis_url_free(&u);
}


static void test_url_every_part(void** state) {
  scale_redis_url_t u;

  (void)state;
  parse_ok("redis://worker:s%40cret%3A1@redis-1.example.org:6380/5", &u);
  assert_string_equal(u.host, "redis-1.example.org");
  assert_int_equal(u.port, 6380);
  assert_int_equal(u.db, 5);
  assert_string_equal(u.user, "worker");
  assert_string_equal(u.password, "s@cret:1");
  scale_redis_url_free(&u);

  /* A password alone (AUTH PASSWORD, the pre-ACL form). */
  parse_ok("redis://:pw@h", &u);
  assert_null(u.user);
  assert_string_equal(u.password, "pw");
  assert_int_equal(u.port, 6379);
  scale_redis_url_free(&u);

  parse_ok("redis://[::1]:6390/2", &u);
  assert_string_equal(u.host, "::1");
  assert_int_equal(u.port, 6390);
  assert_int_equal(u.db, 2);
  scale_redis_url_free(&u);

  parse_ok("redis://[fe80::1]", &u);
  assert_string_equal(u.host, "fe80::1");
  assert_int_equal(u.port, 6379);
  scale_redis_url_free(&u);
}


static void test_url_errors(void** state) {
  (void)state;
  parse_fails("", "is empty");
  parse_fails("http://h:1", "scheme must be redis://");
  parse_fails("localhost:6379", "scheme must be redis://");
  parse_fails("rediss://h?ca=", "query parameter \"ca\" has no value");
  parse_fails("rediss://h?cafile=x", "\"cafile\" is not known");
  parse_fails("rediss://h?cert=c.pem", "cert= and key= go together");
  parse_fails("rediss://h?ca=%zz", "ca has a bad %XX escape");
  parse_fails("unix://", "the socket's path is missing");
  parse_fails("unix://run/redis.sock", "the socket's path is missing");
  parse_fails("unix:///run/redis.sock?db=x", "database \"x\"");
  parse_fails("unix:///s?ca=x", "\"ca\" is not known");
  parse_fails("redis-sentinel://h1,h2", "the master's name is missing");
  parse_fails("redis-sentinel://h1:0/m", "port \"0\"");
  parse_fails("redis-sentinel://h1,/m", "host is missing");
  parse_fails("redis-sentinel://h/m/x", "database \"x\"");
  parse_fails("rediss-sentinel://h/m?sentinel-tls=maybe",
              "sentinel-tls= takes yes or no");
  parse_fails("redis-sentinel://h/m?ca=/c.pem", "\"ca\" is not known");
  parse_fails("rediss-sentinel://h/m?db=1", "\"db\" is not known");
  parse_fails("redis://", "host is missing");
  parse_fails("redis://:6379", "host is missing");
  parse_fails("redis://h:0", "port \"0\"");
  parse_fails("redis://h:65536", "port \"65536\" is not a number from 1");
  parse_fails("redis://h:", "port \"\"");
  parse_fails("redis://h:63x9", "port \"63x9\"");
  parse_fails("redis://h:99999999999999", "port");
  parse_fails("redis://h:6379/x", "database \"x\"");
  parse_fails("redis://h:6379/-1", "database \"-1\"");
  parse_fails("redis://h/1/2", "database \"1/2\"");
  parse_fails("redis://h?db=1", "query parameters");
  parse_fails("redis://h#x", "fragments");
  parse_fails("redis://pw@h", "[USER]:PASSWORD");
  parse_fails("redis://u:@h", "password is empty");
  parse_fails("redis://u:p%4@h", "password has a bad %XX escape");
  parse_fails("redis://u:p%zz@h", "password has a bad");
  parse_fails("redis://u:p%00@h", "password has a bad");
  parse_fails("redis://u%g1:p@h", "user has a bad");
  parse_fails("redis://[::1", "without a closing ']'");
  parse_fails("redis://[::1]x", "unexpected 'x'");
  parse_fails("redis://[::g]", "is not an IPv6 address");
  parse_fails("redis://h o", "character ' '");
}


static void test_url_tls_unix_sentinel(void** state) {
  scale_redis_url_t u, c;

  (void)state;
  parse_ok("rediss://:pw@redis.example.org:6380/3?ca=/etc/ca%20x.pem"
           "&cert=c.pem&key=k.pem&sni=other.example.org", &u);
  assert_true(u.tls);
  assert_string_equal(u.host, "redis.example.org");
  assert_int_equal(u.port, 6380);
  assert_int_equal(u.db, 3);
  assert_string_equal(u.password, "pw");
  assert_string_equal(u.tls_ca, "/etc/ca x.pem");
  assert_string_equal(u.tls_cert, "c.pem");
  assert_string_equal(u.tls_key, "k.pem");
  assert_string_equal(u.tls_sni, "other.example.org");
  assert_string_equal(u.display, "redis.example.org:6380");
  /* The copy is deep and whole. */
  assert_int_equal(scale_redis_url_copy(&u, &c), 0);
  scale_redis_url_free(&u);
  assert_string_equal(c.tls_ca, "/etc/ca x.pem");
  assert_string_equal(c.password, "pw");
  assert_true(c.tls);
  scale_redis_url_free(&c);

  parse_ok("rediss://[::1]", &u);
  assert_true(u.tls);
  assert_null(u.tls_ca);
  assert_string_equal(u.display, "[::1]:6379");
  scale_redis_url_free(&u);

  parse_ok("unix:///run/redis/redis.sock", &u);
  assert_null(u.host);
  assert_string_equal(u.unix_path, "/run/redis/redis.sock");
  assert_int_equal(u.db, 0);
  assert_string_equal(u.display, "unix:/run/redis/redis.sock");
  scale_redis_url_free(&u);

  parse_ok("unix://u:p@/tmp/r.sock?db=4", &u);
  assert_string_equal(u.unix_path, "/tmp/r.sock");
  assert_string_equal(u.user, "u");
  assert_string_equal(u.password, "p");
  assert_int_equal(u.db, 4);
  scale_redis_url_free(&u);

  parse_ok("redis-sentinel://:pw@10.0.0.1,10.0.0.2:26380,[::1]/mymaster/2"
           "?sentinel-password=s%26p", &u);
  assert_int_equal(u.n_sentinels, 3);
  assert_string_equal(u.sentinels[0].host, "10.0.0.1");
  assert_int_equal(u.sentinels[0].port, 26379);
  assert_string_equal(u.sentinels[1].host, "10.0.0.2");
  assert_int_equal(u.sentinels[1].port, 26380);
  assert_string_equal(u.sentinels[2].host, "::1");
  assert_string_equal(u.master, "mymaster");
  assert_int_equal(u.db, 2);
  assert_string_equal(u.password, "pw");
  assert_string_equal(u.sentinel_password, "s&p");
  assert_false(u.tls);
  assert_int_equal(scale_redis_url_copy(&u, &c), 0);
  scale_redis_url_free(&u);
  assert_string_equal(c.sentinels[2].host, "::1");
  assert_string_equal(c.master, "mymaster");
  scale_redis_url_free(&c);

  /* TLS to the master and, by default, to the sentinels. */
  parse_ok("rediss-sentinel://:pw@10.0.0.1,10.0.0.2/m?ca=/c.pem&"
           "cert=/w.pem&key=/w.key&sentinel-password=sp", &u);
  assert_true(u.tls);
  assert_false(u.sentinel_plain);
  assert_int_equal(u.n_sentinels, 2);
  assert_string_equal(u.master, "m");
  assert_string_equal(u.tls_ca, "/c.pem");
  assert_string_equal(u.tls_key, "/w.key");
  assert_string_equal(u.sentinel_password, "sp");
  assert_int_equal(scale_redis_url_copy(&u, &c), 0);
  scale_redis_url_free(&u);
  assert_true(c.tls);
  scale_redis_url_free(&c);
  parse_ok("rediss-sentinel://h/m?sentinel-tls=no", &u);
  assert_true(u.tls);
  assert_true(u.sentinel_plain);
  assert_int_equal(scale_redis_url_copy(&u, &c), 0);
  assert_true(c.sentinel_plain);
  scale_redis_url_free(&c);
  scale_redis_url_free(&u);
}


static void test_url_truncated_message(void** state) {
  scale_redis_url_t u;
  char err[16];

  (void)state;
  /* A small buffer gets a cut, terminated message, never an overflow. */
  assert_int_equal(scale_redis_url_parse("redis://h:0", &u, err, sizeof(err)),
                   CAPSID_EINVAL);
  assert_true(strlen(err) < sizeof(err));
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_url_defaults),
      cmocka_unit_test(test_url_every_part),
      cmocka_unit_test(test_url_errors),
      cmocka_unit_test(test_url_tls_unix_sentinel),
      cmocka_unit_test(test_url_truncated_message),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
