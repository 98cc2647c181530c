#pragma once
// /diagnose and the status page read the same report: collectors/diagnosis.hpp over the latest
// snapshots of each target (no database work).
#include <vector>

#include "collectors/diagnosis.hpp"
#include "collectors/snapshot_store.hpp"

namespace pgpulse::exporter {

// One DiagnosisInput per target that has a health snapshot, in target order.
std::vector<collectors::DiagnosisInput> diagnosis_inputs(
    const collectors::SnapshotStore::View& view);
std::vector<collectors::TargetReport> diagnose_all(const collectors::SnapshotStore::View& view);

}  // namespace pgpulse::exporter
