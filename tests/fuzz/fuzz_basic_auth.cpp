// The Authorization header parser under arbitrary bytes. Beyond "no crash": accepted credentials
// never contain a NUL and the user never a colon (crypt(3) and the user lookup rely on both);
// re-encoding them and parsing again gives the same credentials; base64_decode never returns more
// than 3 bytes per 4 characters.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "exporter/basic_auth.hpp"

using namespace pgpulse::exporter;

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_basic_auth: %s: %s\n", what, detail.c_str());
  std::abort();
}

std::string base64(const std::string& in) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned value = 0;
  int bits = 0;
  for (unsigned char c : in) {
    value = (value << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(value >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(alphabet[(value << (6 - bits)) & 0x3F]);
  while (out.size() % 4) out.push_back('=');
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  if (auto decoded = base64_decode(input); decoded && decoded->size() > (input.size() * 3) / 4) {
    fail("base64_decode grew", input);
  }
  auto credentials = parse_basic_auth(input);
  if (!credentials) {
    // The same bytes as the token of a well-formed header: exercises the decoder's success path.
    credentials = parse_basic_auth("Basic " + base64(input));
    bool expected = input.find(':') != std::string::npos && input.find('\0') == std::string::npos;
    if (expected != credentials.has_value()) fail("encoded input misparsed", input);
    if (!credentials) return 0;
    if (credentials->user + ":" + credentials->password != input) fail("round trip", input);
  }
  if (credentials->user.find(':') != std::string::npos) fail("colon in user", credentials->user);
  for (const auto* field : {&credentials->user, &credentials->password}) {
    if (field->find('\0') != std::string::npos) fail("NUL accepted", input);
  }
  auto again = parse_basic_auth("Basic " + base64(credentials->user + ":" + credentials->password));
  if (!again || again->user != credentials->user || again->password != credentials->password) {
    fail("re-encoded credentials differ", input);
  }
  return 0;
}
