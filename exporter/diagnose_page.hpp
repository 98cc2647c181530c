#pragma once
// /diagnose and the status page read the same report: analysis/diagnosis.hpp over the latest
// snapshots of each target (no database work).
#include <vector>

#include "analysis/diagnosis.hpp"
#include "core/snapshot_store.hpp"

namespace pgpulse::exporter {

// One DiagnosisInput per target that has a health snapshot, in target order, except that each
// PgBouncer target follows the server it fronts.
std::vector<analysis::DiagnosisInput> diagnosis_inputs(const core::SnapshotStore::View& view);
std::vector<analysis::TargetReport> diagnose_all(const core::SnapshotStore::View& view);

}  // namespace pgpulse::exporter
