// parse_basic_auth and base64_decode read attacker-controlled bytes (the Authorization header):
// every malformed shape must come back empty, never as partial credentials.
#include <catch2/catch.hpp>

#include <string>

#include "exporter/basic_auth.hpp"

using namespace pgpulse::exporter;

namespace {

std::string base64(const std::string& in) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    for (int shift : {18, 12, 6, 0}) out.push_back(alphabet[(v >> shift) & 0x3F]);
  }
  if (i + 1 == in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += std::string{alphabet[(v >> 18) & 0x3F], alphabet[(v >> 12) & 0x3F], '=', '='};
  } else if (i + 2 == in.size()) {
    unsigned v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += std::string{alphabet[(v >> 18) & 0x3F], alphabet[(v >> 12) & 0x3F],
                       alphabet[(v >> 6) & 0x3F], '='};
  }
  return out;
}

}  // namespace

TEST_CASE("basic auth - a valid header gives user and password") {
  auto credentials = parse_basic_auth("Basic " + base64("prometheus:s3cret-pass"));
  REQUIRE(credentials);
  CHECK(credentials->user == "prometheus");
  CHECK(credentials->password == "s3cret-pass");
  // RFC 7617's own example.
  auto example = parse_basic_auth("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  REQUIRE(example);
  CHECK(example->user == "Aladdin");
  CHECK(example->password == "open sesame");
  // Spaces around the token are tolerated; an empty password is a password.
  auto spaced = parse_basic_auth("Basic   " + base64("u:") + "  ");
  REQUIRE(spaced);
  CHECK(spaced->user == "u");
  CHECK(spaced->password.empty());
}

TEST_CASE("basic auth - another scheme is refused - the scheme is case-insensitive") {
  CHECK_FALSE(parse_basic_auth("Bearer " + base64("a:b")));
  CHECK_FALSE(parse_basic_auth("Digest username=\"a\""));
  CHECK_FALSE(parse_basic_auth("Basically " + base64("a:b")));
  CHECK_FALSE(parse_basic_auth("Basic"));
  CHECK_FALSE(parse_basic_auth("Basic "));
  CHECK_FALSE(parse_basic_auth(""));
  CHECK_FALSE(parse_basic_auth(" Basic " + base64("a:b")));
  CHECK_FALSE(parse_basic_auth("Basic\t" + base64("a:b")));
  for (const char* scheme : {"basic", "BASIC", "bAsIc"}) {
    auto credentials = parse_basic_auth(std::string(scheme) + " " + base64("a:b"));
    REQUIRE(credentials);
    CHECK(credentials->user == "a");
  }
}

TEST_CASE("basic auth - base64 padding is optional - over-padding is refused") {
  CHECK(base64_decode("YQ==") == "a");
  CHECK(base64_decode("YQ") == "a");
  CHECK(base64_decode("YWI=") == "ab");
  CHECK(base64_decode("YWI") == "ab");
  CHECK(base64_decode("YWJj") == "abc");
  CHECK(base64_decode("") == "");
  CHECK_FALSE(base64_decode("YQ==="));  // a third "=" is not padding
  CHECK_FALSE(base64_decode("Y"));      // one sextet cannot encode a byte
  CHECK_FALSE(base64_decode("YWJjZ"));
  CHECK(parse_basic_auth("Basic " + base64("ab:c"))->password == "c");  // "YWI6Yw=="
  auto unpadded = base64("ab:c");
  while (!unpadded.empty() && unpadded.back() == '=') unpadded.pop_back();
  CHECK(parse_basic_auth("Basic " + unpadded)->user == "ab");
}

TEST_CASE("basic auth - invalid base64 is refused") {
  for (const char* token :
       {"!!!notbase64", "YW Jj", "YW\nJj", "YWJj-_", "YW=Jj", "=YWJj", "\x80"}) {
    INFO(token);
    CHECK_FALSE(parse_basic_auth(std::string("Basic ") + token));
  }
  CHECK_FALSE(base64_decode("YWJj-_"));  // base64url is another alphabet
}

TEST_CASE("basic auth - no colon - a NUL byte - colons in the password - an empty user") {
  CHECK_FALSE(parse_basic_auth("Basic " + base64("prometheus")));
  CHECK_FALSE(parse_basic_auth("Basic " + base64(std::string("prom\0etheus:pass", 16))));
  CHECK_FALSE(parse_basic_auth("Basic " + base64(std::string("prometheus:pa\0ss", 16))));
  CHECK_FALSE(parse_basic_auth("Basic " + base64(std::string("prometheus:pass\0", 16))));
  auto colons = parse_basic_auth("Basic " + base64("prometheus:a:b::c"));
  REQUIRE(colons);
  CHECK(colons->user == "prometheus");
  CHECK(colons->password == "a:b::c");
  auto empty_user = parse_basic_auth("Basic " + base64(":password"));
  REQUIRE(empty_user);
  CHECK(empty_user->user.empty());
  CHECK(empty_user->password == "password");
  auto just_colon = parse_basic_auth("Basic " + base64(":"));
  REQUIRE(just_colon);
  CHECK(just_colon->user.empty());
  CHECK(just_colon->password.empty());
}

TEST_CASE("basic auth - very long input decodes whole or is refused whole") {
  std::string password(100000, 'p');
  auto long_one = parse_basic_auth("Basic " + base64("u:" + password));
  REQUIRE(long_one);
  CHECK(long_one->password == password);
  std::string junk = "Basic " + base64("u:" + password);
  junk[junk.size() / 2] = '*';
  CHECK_FALSE(parse_basic_auth(junk));
  CHECK_FALSE(parse_basic_auth("Basic " + std::string(1 << 20, '=')));
  CHECK_FALSE(parse_basic_auth("Basic " + std::string(1 << 20, ' ')));
  CHECK_FALSE(parse_basic_auth(std::string(1 << 20, 'B')));
}
