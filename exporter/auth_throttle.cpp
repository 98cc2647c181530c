#include "exporter/auth_throttle.hpp"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <cmath>

namespace pgpulse::exporter {

std::string source_key(const boost::asio::ip::address& address) {
  if (address.is_v4()) return address.to_v4().to_string();
  auto v6 = address.to_v6();
  if (v6.is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
  }
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return boost::asio::ip::address_v6(bytes).to_string() + "/64";
}

void AuthThrottle::refill(Source& source, Clock::time_point now) const {
  auto burst = static_cast<double>(limits_.failure_burst);
  if (source.tokens < burst && now > source.updated && limits_.refill.count() > 0) {
    std::chrono::duration<double, std::milli> elapsed = now - source.updated;
    source.tokens = std::min(burst, source.tokens + elapsed.count() / limits_.refill.count());
  }
  source.updated = now;
}

void AuthThrottle::touch(const std::string& key, Source& source, Clock::time_point now) {
  refill(source, now);
  recency_.erase(source.order);
  source.order = recency_.insert(recency_.end(), key);
}

void AuthThrottle::make_room(Clock::time_point now) {
  // First the sources that are back to a full bucket with nothing in flight: they are forgotten
  // at no cost. Then the least recently seen, even if it was being throttled: the table must stay
  // bounded whatever the number of addresses.
  for (auto it = sources_.begin(); it != sources_.end();) {
    auto next = std::next(it);
    refill(it->second, now);
    forget_if_clean(it);
    it = next;
  }
  if (sources_.size() < limits_.max_sources || recency_.empty()) return;
  sources_.erase(recency_.front());
  recency_.pop_front();
}

void AuthThrottle::forget_if_clean(std::unordered_map<std::string, Source>::iterator it) {
  if (it->second.in_flight == 0 &&
      it->second.tokens >= static_cast<double>(limits_.failure_burst)) {
    recency_.erase(it->second.order);
    sources_.erase(it);
  }
}

std::chrono::milliseconds AuthThrottle::admit(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = sources_.find(key);
  if (it == sources_.end()) {
    if (limits_.max_sources == 0) return std::chrono::milliseconds(0);
    if (sources_.size() >= limits_.max_sources) make_room(now);
    Source fresh;
    fresh.tokens = static_cast<double>(limits_.failure_burst);
    fresh.updated = now;
    fresh.order = recency_.insert(recency_.end(), key);
    it = sources_.emplace(key, fresh).first;
  }
  auto& source = it->second;
  touch(key, source, now);
  if (source.in_flight >= limits_.max_in_flight) return limits_.refill;
  // Checks in flight count as failures until they finish: a source with one failure left cannot
  // start four checks at once.
  double left = source.tokens - static_cast<double>(source.in_flight);
  if (left < 1.0) {
    auto wait = std::ceil((1.0 - left) * static_cast<double>(limits_.refill.count()));
    return std::chrono::milliseconds(std::max<long long>(1, static_cast<long long>(wait)));
  }
  ++source.in_flight;
  return std::chrono::milliseconds(0);
}

void AuthThrottle::finish(const std::string& key, bool ok, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = sources_.find(key);
  if (it == sources_.end()) return;  // evicted from a full table meanwhile
  auto& source = it->second;
  touch(key, source, now);
  if (source.in_flight > 0) --source.in_flight;
  if (ok) {
    source.tokens = static_cast<double>(limits_.failure_burst);
  } else {
    source.tokens = std::max(0.0, source.tokens - 1.0);
  }
  forget_if_clean(it);
}

std::size_t AuthThrottle::tracked() const {
  std::lock_guard lock(mutex_);
  return sources_.size();
}

}  // namespace pgpulse::exporter
