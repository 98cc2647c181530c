#include "analysis/statements_step.hpp"

#include "analysis/format.hpp"
#include "analysis/steps.hpp"
#include "core/details/statements.hpp"

namespace pgpulse::analysis {

namespace {

std::string cut(const std::string& text, std::size_t length) {
  if (text.size() <= length) return text;
  std::size_t end = length;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end) + "...";
}

std::string label(const core::StatementStats& s) {
  return s.datname + "/" + s.usename + " queryid " + s.queryid +
         (s.query.empty() ? "" : " (" + cut(s.query, 80) + ")");
}

// Why there is nothing to read: the collector's own reason when it does not apply.
std::string no_data_reason(const core::TargetHealth& health) {
  for (const auto& c : health.collectors) {
    if (c.name != "statements") continue;
    if (!c.applicable) return "not applicable: " + c.not_applicable_reason;
    if (!c.last_error.empty()) return "the statements collector failed: " + c.last_error;
    return "no statement data yet";
  }
  return "the statements collector is disabled";
}

}  // namespace

DiagnosisStep statements_step(const DiagnosisInput& input) {
  const auto* d = input.target.find<core::StatementsDetails>();
  DiagnosisStep step{"statements", kStatementsTitle, Severity::Skipped, "", ""};
  if (!d) {
    step.finding = no_data_reason(input.target.health);
    return step;
  }
  if (!d->has_interval) {
    step.finding =
        "the first read of pg_stat_statements only takes the baseline; statements are compared "
        "between two reads (see the daemon's /diagnose and /statements)";
    return step;
  }
  step.severity = Severity::Ok;
  step.measure("calls", d->calls, "count");
  step.measure("interval", d->interval_seconds, "seconds");
  step.measure("mean", d->mean_seconds, "seconds");
  step.measure("slow_statements", d->slow, "count");
  step.measure("large_result_statements", d->large_result, "count");
  step.measure("batch_candidates", d->chatty, "count");
  if (d->deallocations) step.measure("deallocations", *d->deallocations, "count");
  for (const auto& s : d->top) {
    // The subject is the statement: database/role queryid <id>, as /statements lists it.
    std::string subject = s.datname + "/" + s.usename + " queryid " + s.queryid;
    step.measure("statement_share_of_time", s.share_of_time, "ratio", subject);
    step.measure("statement_mean", s.mean_seconds, "seconds", subject);
    step.measure("statement_calls", s.calls, "count", subject);
  }
  step.finding = std::to_string(static_cast<long>(d->calls)) + " calls in the last " +
                 fmt_seconds(d->interval_seconds) + ", mean " + fmt_latency(d->mean_seconds);
  if (!d->top.empty()) {
    const auto& top = d->top.front();
    step.finding += "; most time: " + label(top) + ", " +
                    std::to_string(static_cast<long>(top.share_of_time * 100 + 0.5)) +
                    "% of it, mean " + fmt_latency(top.mean_seconds);
  }
  std::string slow, large, chatty;
  for (const auto& s : d->top) {
    if (s.slow) {
      slow += (slow.empty() ? "" : "; ") + label(s) + " mean " + fmt_latency(s.mean_seconds) +
              " over " + std::to_string(static_cast<long>(s.calls)) + " calls";
    }
    if (s.large_result) {
      large += (large.empty() ? "" : "; ") + label(s) + " " +
               std::to_string(static_cast<long>(s.rows_per_call)) + " rows per call";
    }
    if (s.chatty) {
      chatty += (chatty.empty() ? "" : "; ") + label(s) + " " +
                std::to_string(static_cast<long>(s.calls_per_second)) + " calls/s at " +
                fmt_latency(s.mean_seconds);
    }
  }
  auto outside = [](long count, std::size_t named) {
    return count > 0 && named == 0 ? std::to_string(count) + " outside the top list" : "";
  };
  if (d->slow > 0) {
    step.severity = Severity::Warning;
    step.finding += "; " + std::to_string(d->slow) + " slow (mean over " +
                    fmt_latency(d->slow_mean_seconds) +
                    "): " + (slow.empty() ? outside(d->slow, 0) : slow);
  }
  if (d->large_result > 0) {
    step.severity = Severity::Warning;
    step.finding += "; " + std::to_string(d->large_result) + " with large results (over " +
                    std::to_string(static_cast<long>(d->large_result_rows)) +
                    " rows per call): " + (large.empty() ? outside(d->large_result, 0) : large);
  }
  if (d->chatty > 0) {
    step.finding += "; " + std::to_string(d->chatty) + " batch candidate(s) (N+1): " +
                    (chatty.empty() ? outside(d->chatty, 0) : chatty);
  }
  if (d->deallocations && *d->deallocations > 0) {
    step.finding += "; pg_stat_statements evicted entries " +
                    std::to_string(static_cast<long>(*d->deallocations)) +
                    " time(s) in the interval: history is being lost (" +
                    std::to_string(d->tracked) + " of " + std::to_string(d->max) +
                    " entries; raise pg_stat_statements.max)";
  }
  if (step.severity != Severity::Ok) {
    step.action =
        "psql -c \"SELECT queryid, calls, mean_exec_time, rows / nullif(calls, 0) AS "
        "rows_per_call, left(query, 80) FROM pg_stat_statements ORDER BY total_exec_time DESC "
        "LIMIT 10\"; EXPLAIN (ANALYZE, BUFFERS) the slow one with real parameters (a missing "
        "index, a plan change after ANALYZE); page or filter large results (LIMIT, a missing "
        "join condition); /statements has each text and /activity the trace behind a running "
        "one.";
  }
  return step;
}

}  // namespace pgpulse::analysis
