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
  std::string datname, usename, query;  // query as pg_stat_statements holds it (not normalised)
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

// Not applicable when the extension is missing in the target's database, not preloaded, too old,
// or the role cannot read other roles' statements. Keeps the previous scan (for the deltas) and
// the texts of recent top statements between polls.
class StatementsCollector : public Collector {
 public:
  explicit StatementsCollector(const config::StatementsConfig& options) : options_(options) {}
  Applicability applicability(PollContext& context) override;
  CollectorOutput collect(PollContext& context) override;

 private:
  void fetch_texts(PollContext& context, const std::vector<StatementInterval>& top);

  config::StatementsConfig options_;
  StatementsSql sql_;
  StatementTracker tracker_;
  struct CachedText {
    StatementText text;
    long last_used = 0;  // poll number
  };
  std::map<StatementKey, CachedText> texts_;
  long polls_ = 0;
};

}  // namespace pgpulse::collectors
