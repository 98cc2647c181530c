#include "core/label_folding.hpp"

#include <algorithm>
#include <vector>

namespace pgpulse::core {

LabelFold::LabelFold(const std::map<std::string, std::size_t>& weights, std::size_t limit) {
  if (weights.size() <= limit) {
    for (const auto& [value, weight] : weights) kept_.insert(value);
    return;
  }
  std::vector<std::pair<std::string, std::size_t>> ranked(weights.begin(), weights.end());
  // Heaviest first; ties by name so the choice is stable from one poll to the next.
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  for (std::size_t i = 0; i < limit; ++i) kept_.insert(ranked[i].first);
  folded_ = ranked.size() - limit;
}

const std::string& LabelFold::apply(const std::string& value) const {
  auto it = kept_.find(value);
  return it == kept_.end() ? other_ : *it;
}

}  // namespace pgpulse::core

namespace pgpulse::core {

void add_folded_values(Families& families, std::string_view collector,
                       const std::map<std::string, std::size_t>& folded) {
  auto& family = add_gauge(families, "pgpulse_label_values_folded",
                           "Distinct label values folded into \"other\" in the last poll "
                           "(labels.max_values).");
  for (const auto& [label, count] : folded) {
    add_sample(family, {{"collector", std::string(collector)}, {"label", label}},
               static_cast<double>(count));
  }
}

}  // namespace pgpulse::core
