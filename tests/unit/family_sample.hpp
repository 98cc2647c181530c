#pragma once
// The value of one sample in collector output, by family name and labels (a subset): what the
// collectors' unit tests read. nullopt when there is no such sample.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/exposition.hpp"

inline std::optional<double> sample(
    const pgpulse::core::Families& families, const std::string& name,
    const std::vector<std::pair<std::string, std::string>>& labels = {}) {
  for (const auto& family : families) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      bool match = true;
      for (const auto& [key, value] : labels) {
        bool found = false;
        for (const auto& label : metric.label) found |= label.name == key && label.value == value;
        match &= found;
      }
      if (match) {
        return family.type == prometheus::MetricType::Counter ? metric.counter.value
                                                              : metric.gauge.value;
      }
    }
  }
  return std::nullopt;
}
