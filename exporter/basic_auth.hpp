#pragma once
// The Authorization header of HTTP basic auth (RFC 7617), parsed from attacker-controlled bytes.
// Pure functions: thread-safe, no state, no allocation beyond the returned strings.
#include <optional>
#include <string>
#include <string_view>

namespace pgpulse::exporter {

struct Credentials {
  std::string user;
  std::string password;
};

// Standard base64 (RFC 4648 alphabet, "+/"), with or without up to two "=" of padding; nullopt
// for any other character or a dangling sextet that cannot encode a byte.
std::optional<std::string> base64_decode(std::string_view in);

// "Basic <base64(user:password)>", the scheme case-insensitive (RFC 7235). nullopt for another
// scheme, invalid base64, no colon, or a NUL byte anywhere (crypt(3) takes C strings: a NUL would
// silently cut the password). The password may contain colons; the user may be empty (no such
// user exists: the web config refuses empty names).
std::optional<Credentials> parse_basic_auth(std::string_view header);

}  // namespace pgpulse::exporter
