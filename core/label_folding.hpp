#pragma once
// Bounded label cardinality: per label, the `limit` values with the most connections keep their
// name and the rest become "other". Decided per poll from that poll's counts, so it needs no state.
#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "core/exposition.hpp"

namespace pgpulse::core {

inline constexpr const char* kFoldedValue = "other";

// Thread-safety: immutable after construction.
class LabelFold {
 public:
  // weights: label value -> how many rows carry it
  LabelFold(const std::map<std::string, std::size_t>& weights, std::size_t limit);
  const std::string& apply(const std::string& value) const;
  std::size_t folded_values() const { return folded_; }  // distinct values that became "other"

 private:
  std::set<std::string> kept_;
  std::size_t folded_ = 0;
  std::string other_ = kFoldedValue;
};

// pgpulse_label_values_folded{collector, label}: the one declaration of the family every folding
// collector reports into. folded: label -> distinct values folded in this poll.
void add_folded_values(Families& families, std::string_view collector,
                       const std::map<std::string, std::size_t>& folded);

}  // namespace pgpulse::core
