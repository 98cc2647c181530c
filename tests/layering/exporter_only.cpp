// Links the exporter library and nothing above it: the build fails if the HTTP layer (or a layer
// below it) calls into the collectors or libpq, and tests/CMakeLists.txt checks that the binary
// has no libpq among its shared libraries.
#include "core/snapshot_store.hpp"
#include "exporter/routes.hpp"

int main() {
  pgpulse::core::SnapshotStore store;
  pgpulse::exporter::Routes routes(store, "0.0.0-test");
  auto response = routes.handle({"GET", "/diagnose"});
  return response.status == 200 ? 0 : 1;
}
