#pragma once
// Statements by time (pg_stat_statements), without the cardinality trap: the scan reads every
// entry without its text (showtext := false), StatementTracker computes the interval's deltas,
// only the top N by time get series of their own (the rest sum into "other"), and the text,
// database and role names are fetched only for the statements that enter the top N.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collectors/collector.hpp"
#include "collectors/statements_delta.hpp"
#include "collectors/statements_sql.hpp"
#include "config/config.hpp"
#include "core/details/statements.hpp"

namespace pgpulse::collectors {

struct StatementText {
  std::string datname, usename;
  std::string query;  // as pg_stat_statements holds it (not normalised); "" until fetched
};
using StatementTexts = std::map<StatementKey, StatementText>;

// Pure: the interval as /statements, the status page and /diagnose read it; thresholds and text
// length from the statements config section.
core::StatementsDetails statement_details(const StatementsScan& scan,
                                          const StatementsInterval& interval,
                                          const StatementTexts& texts,
                                          const config::StatementsConfig& options);
// Pure: the families, top N + "other" per statement family, whatever the number of entries.
Families statement_families(const StatementsScan& scan, const StatementsInterval& interval,
                            const core::StatementsDetails& details);

// Pure: the top statements whose text to fetch at poll `poll`: those without one, and only when
// the last fetch is at least kTextFetchEveryPolls polls old (every fetch reads all texts, so under
// churn at most every other poll: a minute at the default interval).
inline constexpr long kTextFetchEveryPolls = 2;
std::vector<StatementKey> texts_to_fetch(const std::vector<StatementInterval>& top,
                                         const std::map<StatementKey, std::string>& held,
                                         std::optional<long> last_fetch, long poll);

// Not applicable when the extension is missing in the target's database, not preloaded, too old,
// or the role cannot read other roles' statements. Keeps the previous scan (for the deltas), the
// names of the databases and roles it labelled, and the texts of recent top statements.
//
// Thread-safety: like every Collector, called from its target poller's thread only. Ownership:
// owns its tracker and caches (bounded: texts of at most 4 x top_n statements, names of the
// databases and roles of statements it listed); borrows nothing between calls.
class StatementsCollector : public Collector {
 public:
  explicit StatementsCollector(const config::StatementsConfig& options) : options_(options) {}
  Applicability applicability(PollContext& context) override;
  CollectorOutput collect(PollContext& context) override;

 private:
  void fetch_names(PollContext& context, const std::vector<StatementInterval>& top);
  void fetch_texts(PollContext& context, const std::vector<StatementInterval>& top);

  config::StatementsConfig options_;
  StatementsSql sql_;
  StatementTracker tracker_;
  std::map<std::uint32_t, std::string> databases_, roles_;  // oid -> name, this connection
  std::map<StatementKey, std::string> texts_;               // as pg_stat_statements holds them
  std::map<StatementKey, long> text_used_;                  // poll a text was last in the top N
  std::optional<long> last_text_fetch_;                     // poll number
  long polls_ = 0;
};

}  // namespace pgpulse::collectors
