#include <catch2/catch.hpp>

#include "collectors/pg/connection.hpp"
#include "collectors/pg/error.hpp"

using namespace pgpulse::pg;

TEST_CASE("connection failures are classified from libpq's messages") {
  struct Case {
    const char* message;
    ErrorKind kind;
  };
  Case cases[] = {
      {"connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the server "
       "running on that host and accepting TCP/IP connections?",
       ErrorKind::Refused},
      {"connection to server on socket \"/tmp/x/.s.PGSQL.5432\" failed: No such file or directory",
       ErrorKind::Refused},
      {"connection to server at \"10.0.0.1\", port 5432 failed: timeout expired",
       ErrorKind::Timeout},
      {"connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication "
       "failed for user \"app\"",
       ErrorKind::AuthFailed},
      {"FATAL:  no pg_hba.conf entry for host \"1.2.3.4\", user \"x\", database \"y\"",
       ErrorKind::AuthFailed},
      {"FATAL:  role \"ghost\" does not exist", ErrorKind::AuthFailed},
      {"FATAL:  sorry, too many clients already", ErrorKind::TooManyConnections},
      {"FATAL:  remaining connection slots are reserved for non-replication superuser connections",
       ErrorKind::TooManyConnections},
      {"FATAL:  too many connections for role \"app\"", ErrorKind::RoleConnectionLimit},
      {"could not translate host name \"nope\" to address: Name or service not known",
       ErrorKind::Other},
      {"FATAL:  database \"nope\" does not exist", ErrorKind::Other},
      // PgBouncer's refusals, as libpq reports them
      {"connection to server at \"127.0.0.1\", port 6432 failed: FATAL:  no more connections "
       "allowed (max_client_conn)",
       ErrorKind::TooManyConnections},
      {"connection to server at \"127.0.0.1\", port 6432 failed: FATAL:  \"trust\" "
       "authentication failed",
       ErrorKind::AuthFailed},
      {"connection to server at \"127.0.0.1\", port 6432 failed: FATAL:  not allowed",
       ErrorKind::AuthFailed},  // a role in neither admin_users nor stats_users on the console
      {"connection to server at \"127.0.0.1\", port 6432 failed: FATAL:  no such user",
       ErrorKind::AuthFailed},
      {"connection to server at \"127.0.0.1\", port 6432 failed: FATAL:  no such database: x",
       ErrorKind::Other},
  };
  for (const auto& c : cases) {
    INFO(c.message);
    CHECK(classify_connect_message(c.message) == c.kind);
  }
  CHECK(reason_label(ErrorKind::TooManyConnections) == "too_many_connections");
  CHECK(reason_label(ErrorKind::AuthFailed) == "auth_failed");
  CHECK(reason_label(ErrorKind::Query) == "other");
}

TEST_CASE("SQLSTATEs are classified") {
  CHECK(classify_sqlstate("57014") == ErrorKind::Timeout);
  CHECK(classify_sqlstate("53300") == ErrorKind::TooManyConnections);
  CHECK(classify_sqlstate("28P01") == ErrorKind::AuthFailed);
  CHECK(classify_sqlstate("08006") == ErrorKind::Refused);
  CHECK(classify_sqlstate("57P01") == ErrorKind::Terminated);  // pg_terminate_backend
  CHECK(classify_sqlstate("57P05") == ErrorKind::Terminated);  // idle_session_timeout
  CHECK(classify_sqlstate("57P02") == ErrorKind::Refused);     // crash shutdown
  CHECK(classify_sqlstate("55P03") == ErrorKind::Timeout);     // lock_timeout
  CHECK(reason_label(ErrorKind::Terminated) == "terminated");
  // A startup that waited on a locked catalog longer than the startup packet's lock_timeout.
  CHECK(classify_connect_message("connection to server at \"127.0.0.1\", port 5432 failed: "
                                 "FATAL:  canceling statement due to lock timeout") ==
        ErrorKind::Timeout);
  CHECK(classify_sqlstate("42501") == ErrorKind::Query);
}

TEST_CASE("backoff grows exponentially - is capped and jittered within half to full delay") {
  const Millis initial{1000}, cap{15000};
  CHECK(backoff_delay(0, initial, cap, 0.5) == Millis{0});
  CHECK(backoff_delay(1, initial, cap, 0.0) == Millis{500});
  CHECK(backoff_delay(1, initial, cap, 1.0) == Millis{1000});
  CHECK(backoff_delay(3, initial, cap, 1.0) == Millis{4000});
  CHECK(backoff_delay(4, initial, cap, 0.0) == Millis{4000});
  for (int failures : {5, 6, 10, 100, 100000}) {
    INFO(failures);
    CHECK(backoff_delay(failures, initial, cap, 1.0) == cap);
    CHECK(backoff_delay(failures, initial, cap, 0.0) == cap / 2);
  }
}

TEST_CASE("the monitoring role's own connection limit is told from a full server") {
  CHECK(classify_connect_message("FATAL:  too many connections for role \"pgpulse\"") ==
        ErrorKind::RoleConnectionLimit);
  CHECK(classify_connect_message("FATAL:  sorry, too many clients already") ==
        ErrorKind::TooManyConnections);
  CHECK(classify_connect_message("FATAL:  too many connections for database \"app\"") ==
        ErrorKind::TooManyConnections);
  CHECK(reason_label(ErrorKind::RoleConnectionLimit) == "role_connection_limit");
}

TEST_CASE("connect errors lose every secret and every fragment of one") {
  using pgpulse::pg::scrub_secrets;
  // libpq read postgresql://app:s3cr@et-Pa55@127.0.0.1 with "et-Pa55@127.0.0.1" as the host.
  auto scrubbed = scrub_secrets(
      "could not translate host name \"et-Pa55@127.0.0.1\" to address: Name or service not known",
      {"s3cr@et-Pa55"});
  CHECK(scrubbed.find("et-Pa55") == std::string::npos);
  CHECK(scrubbed.find("s3cr") == std::string::npos);
  CHECK(scrubbed.find("127.0.0.1") != std::string::npos);
  CHECK(scrub_secrets("password authentication failed for user \"app\"", {"hunter2"}) ==
        "password authentication failed for user \"app\"");
  CHECK(scrub_secrets("x hunter2 y hunter2", {"hunter2"}) == "x *** y ***");
  CHECK(scrub_secrets("user a:b", {"a:b"}) == "user ***");  // short pieces alone are left
}
