#pragma once
// /readyz: ready when every target has connected at least once and every applicable collector's
// data is fresh (last success within three of its intervals); a collector that does not apply
// (extension missing, standby, version) is listed with its reason and blocks nothing. Pure over
// the store's health snapshots.
#include <string>
#include <vector>

#include "core/snapshot_store.hpp"

namespace pgpulse::exporter {

struct Readiness {
  bool ready = true;
  std::vector<std::string> reasons;  // why not, one line per problem
  std::vector<std::string> notes;    // collectors that do not apply, and why (never blockers)
};

Readiness assess_readiness(const core::SnapshotStore::View& view, double now_unix);

}  // namespace pgpulse::exporter
