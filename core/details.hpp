#pragma once
// A collector's structured output, typed. Each collector that has readers (the analysis, the
// pages, the JSON endpoints) declares its details struct under core/details/ with an nlohmann
// NLOHMANN_DEFINE_TYPE_* serialiser; the snapshot carries it type-erased, and readers ask for the
// type they know: a renamed field breaks the build, not a page.
//
// Thread-safety: immutable once made; shared between the collector thread that made it and any
// number of HTTP threads through shared_ptr<const Details>.
#include <memory>
#include <utility>

#include <nlohmann/json.hpp>

namespace pgpulse::core {

class Details {
 public:
  virtual ~Details() = default;
  virtual nlohmann::json to_json() const = 0;
};

template <class T>
class DetailsOf final : public Details {
 public:
  explicit DetailsOf(T value) : value_(std::move(value)) {}
  const T& value() const { return value_; }
  nlohmann::json to_json() const override { return value_; }

 private:
  T value_;
};

using DetailsPtr = std::shared_ptr<const Details>;

template <class T>
DetailsPtr make_details(T value) {
  return std::make_shared<const DetailsOf<T>>(std::move(value));
}

// The typed value when `details` holds a T, else nullptr.
template <class T>
const T* details_as(const Details* details) {
  const auto* typed = dynamic_cast<const DetailsOf<T>*>(details);
  return typed ? &typed->value() : nullptr;
}

}  // namespace pgpulse::core
