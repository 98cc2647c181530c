#pragma once
// `rls_watch`: a cheap fingerprint of the target's own database's RLS catalog state (which
// tables have RLS enabled or forced, the policies and their versions, the number of tables),
// read every tick on the target's connection. When it changes, the per-database visits are asked
// to run at once, so RLS switched off or a policy dropped in the application's database is seen
// within two poll intervals instead of at the next rls scan (5 minutes by default). Other
// databases are seen at their next scan.
#include <optional>
#include <string>

#include "collectors/collector.hpp"

namespace pgpulse::collectors {

extern const char* const kRlsFingerprintSql;

// Whether a fingerprint read now means "rescan": not on the first read, only on a change.
bool fingerprint_changed(std::optional<std::string>& last, const std::string& now);

// Thread-safety: one poller's thread, as every collector.
class RlsWatchCollector : public Collector {
 public:
  explicit RlsWatchCollector(bool rls_enabled) : rls_enabled_(rls_enabled) {}
  Applicability applicability(PollContext& context) override;
  CollectorOutput collect(PollContext& context) override;

 private:
  bool rls_enabled_;
  std::optional<std::string> last_;
  double changes_ = 0;
};

}  // namespace pgpulse::collectors
