#pragma once
#include <string>

namespace pgpulse::daemon {

// Text ("2026-11-27T01:02:03.456Z info target main: ...") or one JSON object per line, on stderr.
void setup_logging(const std::string& level, const std::string& format);

}  // namespace pgpulse::daemon
