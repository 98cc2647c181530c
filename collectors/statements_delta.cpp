#include "collectors/statements_delta.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace pgpulse::collectors {

StatementCounters& StatementCounters::operator+=(const StatementCounters& other) {
  calls += other.calls;
  seconds += other.seconds;
  rows += other.rows;
  shared_blks_hit += other.shared_blks_hit;
  shared_blks_read += other.shared_blks_read;
  temp_blks_written += other.temp_blks_written;
  return *this;
}

namespace {

bool any_lower(const StatementCounters& now, const StatementCounters& before) {
  return now.calls < before.calls || now.seconds < before.seconds || now.rows < before.rows ||
         now.shared_blks_hit < before.shared_blks_hit ||
         now.shared_blks_read < before.shared_blks_read ||
         now.temp_blks_written < before.temp_blks_written;
}

StatementCounters minus(const StatementCounters& now, const StatementCounters& before) {
  return StatementCounters{now.calls - before.calls,
                           now.seconds - before.seconds,
                           now.rows - before.rows,
                           now.shared_blks_hit - before.shared_blks_hit,
                           now.shared_blks_read - before.shared_blks_read,
                           now.temp_blks_written - before.temp_blks_written};
}

bool moved(double now, double before) {
  return !std::isnan(now) && !std::isnan(before) && now != before;
}

}  // namespace

StatementsInterval StatementTracker::update(const StatementsScan& scan, std::size_t top_n) {
  StatementsInterval out;
  bool baseline = !has_baseline_;
  out.has_interval = !baseline;
  out.start = baseline ? scan.server_now : previous_now_;
  out.end = scan.server_now;
  // Appearing (an extension updated from 1.8) is not a reset; moving is.
  out.full_reset =
      !baseline && scan.stats_reset && previous_reset_ && *scan.stats_reset != *previous_reset_;

  std::map<StatementKey, Seen> current;
  for (const auto& row : scan.rows) {
    current[row.key] = Seen{row.counters, row.stats_since};
    if (baseline) continue;
    // A new entry, or one that started again, has counted only since the previous scan.
    StatementCounters delta = row.counters;
    auto before = previous_.find(row.key);
    if (!out.full_reset && before != previous_.end()) {
      bool restarted = moved(row.stats_since, before->second.stats_since) ||
                       any_lower(row.counters, before->second.counters);
      if (restarted) {
        ++out.entries_restarted;
      } else {
        delta = minus(row.counters, before->second.counters);
      }
    }
    if (delta.calls <= 0 && delta.seconds <= 0) continue;
    out.all.push_back(StatementInterval{row.key, delta, {}, row.max_seconds, row.stddev_seconds});
  }

  // Most time first; ties by calls, then by key, so the choice is stable between polls.
  auto order = [](const StatementInterval& a, const StatementInterval& b) {
    if (a.delta.seconds != b.delta.seconds) return a.delta.seconds > b.delta.seconds;
    if (a.delta.calls != b.delta.calls) return a.delta.calls > b.delta.calls;
    return a.key < b.key;
  };
  std::sort(out.all.begin(), out.all.end(), order);
  std::size_t keep = std::min(top_n, out.all.size());
  std::set<StatementKey> in_top;
  for (std::size_t i = 0; i < keep; ++i) in_top.insert(out.all[i].key);

  for (const auto& entry : out.all) {
    out.total_delta += entry.delta;
    total_ += entry.delta;
    if (!in_top.count(entry.key)) out.other_delta += entry.delta;
    auto exported = exported_.find(entry.key);
    if (in_top.count(entry.key) && exported != exported_.end() && exported->second.shown) {
      exported->second.value += entry.delta;
    } else {
      other_ += entry.delta;  // outside the top N, or entering it in this interval
    }
  }
  // A statement's counter is kept while it was shown in the last kForgetAfterPolls scans, even
  // when its entry is gone for a while (a reset, an eviction): coming back, it resumes. Forgotten
  // after that, it starts again from 0, which Prometheus, having long marked the series stale,
  // reads as a new series.
  ++polls_;
  for (auto& [key, exported] : exported_) exported.shown = in_top.count(key) > 0;
  std::erase_if(exported_, [&](const auto& item) {
    return !item.second.shown && polls_ - item.second.last_shown > kForgetAfterPolls;
  });
  for (std::size_t i = 0; i < keep; ++i) {
    auto& exported = exported_[out.all[i].key];
    exported.shown = true;
    exported.last_shown = polls_;
    out.all[i].exported = exported.value;
    out.top.push_back(out.all[i]);
  }
  out.other_exported = other_;
  out.total_exported = total_;

  if (scan.dealloc) {
    if (!baseline && previous_dealloc_) {
      double now = *scan.dealloc, before = *previous_dealloc_;
      double delta = out.full_reset || now < before ? now : now - before;
      deallocations_ += delta;
      out.deallocations_delta = delta;
    }
    out.deallocations_exported = deallocations_;
  }

  previous_ = std::move(current);
  previous_now_ = scan.server_now;
  previous_reset_ = scan.stats_reset;
  previous_dealloc_ = scan.dealloc;
  has_baseline_ = true;
  return out;
}

}  // namespace pgpulse::collectors
