#include "exporter/metrics_page.hpp"

#include <map>
#include <string_view>
#include <vector>

namespace pgpulse::exporter {

std::string merge_families(const core::SnapshotStore::View& view) {
  struct Group {
    std::string_view header;
    std::vector<std::string_view> samples;
  };
  std::map<std::string_view, Group> groups;
  std::size_t size = 0;
  for (const auto& snapshot : view.snapshots) {
    for (const auto& family : snapshot->families) {
      auto& group = groups[family.name];
      if (group.header.empty()) {
        group.header = family.header;
        size += family.header.size();
      }
      group.samples.push_back(family.samples);
      size += family.samples.size();
    }
  }
  std::string body;
  body.reserve(size);
  for (const auto& [name, group] : groups) {
    body.append(group.header);
    for (auto samples : group.samples) body.append(samples);
  }
  return body;
}

std::shared_ptr<const std::string> MetricsPage::body(MetricsFormat format, bool gzipped) {
  auto page = text_.page(store_, merge_families);
  if (format == MetricsFormat::OpenMetrics) {
    page = openmetrics_.derive(page, [](const std::string& text) { return to_openmetrics(text); });
  }
  if (!gzipped) return page.body;
  auto& cache = format == MetricsFormat::OpenMetrics ? openmetrics_gzip_ : text_gzip_;
  return cache
      .derive(page,
              [this](const std::string& plain) {
                ++compressions_;
                return gzip(plain);
              })
      .body;
}

}  // namespace pgpulse::exporter
