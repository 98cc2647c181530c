#pragma once
// /readyz: ready when every target has connected at least once and every collector's data is
// fresh (last success within three of its intervals). Pure over the store's health snapshots.
#include <string>
#include <vector>

#include "collectors/snapshot_store.hpp"

namespace pgpulse::exporter {

struct Readiness {
  bool ready = true;
  std::vector<std::string> reasons;  // why not, one line per problem
};

Readiness assess_readiness(const collectors::SnapshotStore::View& view, double now_unix);

}  // namespace pgpulse::exporter
