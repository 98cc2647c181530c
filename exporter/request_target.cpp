#include "exporter/request_target.hpp"

#include <cctype>

namespace pgpulse::exporter {

namespace {

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

}  // namespace

std::string origin_form(std::string_view target) {
  std::size_t scheme = 0;
  if (starts_with_nocase(target, "http://")) {
    scheme = 7;
  } else if (starts_with_nocase(target, "https://")) {
    scheme = 8;
  } else {
    return std::string(target);
  }
  // The authority ends at the path, the query or the end; an empty one is no absolute URI.
  auto end = target.find_first_of("/?#", scheme);
  if (end == scheme) return std::string(target);
  if (end == std::string_view::npos) return "/";
  if (target[end] == '/') return std::string(target.substr(end));
  if (target[end] == '?') return "/" + std::string(target.substr(end));
  return "/";  // a fragment: not sent by clients, and never part of the path
}

}  // namespace pgpulse::exporter
