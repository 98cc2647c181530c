// Runbook step 7 (row-level security) and how pgpulse itself connects. A database that could not
// be scanned makes the verdict "unknown for <db>", never "in force everywhere".
#include <algorithm>
#include <chrono>

#include "analysis/steps.hpp"
#include "core/details/rls.hpp"

namespace pgpulse::analysis {

namespace {

std::string list_of(const std::vector<std::string>& items, std::size_t max_items = 5) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < max_items; ++i) {
    out += (i ? ", " : "") + items[i];
  }
  if (items.size() > max_items) out += " and " + std::to_string(items.size() - max_items) + " more";
  return out;
}

// The setting the database's own policies read the tenant from, or a neutral placeholder.
std::string tenant_setting_for(const core::RlsDetails& d, const std::string& datname) {
  for (const auto& db : d.databases) {
    if (db.datname == datname && !db.tenant_settings.empty()) return db.tenant_settings.front();
  }
  return "<the setting your policies use>";
}

}  // namespace

DiagnosisStep rls_step(const DiagnosisInput& input) {
  const auto* d = input.target.find<core::RlsDetails>();
  if (!d) return skipped("rls", "Row-level security", "no catalog scan yet");
  DiagnosisStep step{"rls", "Row-level security", Severity::Ok, "", ""};
  std::vector<std::string> findings, unknown, quiet;
  std::size_t scanned = 0;
  for (const auto& db : d->databases) {
    if (!db.ok) {
      unknown.push_back(db.datname + ": " + db.error);
    } else {
      ++scanned;
      if (!db.judged && db.tenant_tables > 0) quiet.push_back(db.datname);
    }
  }
  const auto& unprotected = d->unprotected_tenant_tables;
  step.measure("databases_scanned", static_cast<double>(scanned), "count");
  step.measure("databases_unknown", static_cast<double>(unknown.size()), "count");
  step.measure("unprotected_tenant_tables", static_cast<double>(unprotected.size()), "count");
  for (const auto& t : unprotected) {
    step.measure("unprotected_tenant_table", 1, "table",
                 t.datname + ":" + t.schema + "." + t.table);
  }
  if (!unprotected.empty()) {
    step.severity = Severity::Critical;
    std::vector<std::string> names;
    for (const auto& t : unprotected) {
      names.push_back(t.datname + ":" + t.schema + "." + t.table + " (" + t.status + ")");
    }
    findings.push_back(std::to_string(unprotected.size()) +
                       " tenant table(s) without RLS in force: " + list_of(names));
    const auto& first = unprotected.front();
    step.action = "In database " + first.datname + ": ALTER TABLE " + first.schema + "." +
                  first.table +
                  " ENABLE ROW LEVEL SECURITY; and give it a policy (CREATE POLICY "
                  "tenant_isolation ON " +
                  first.schema + "." + first.table + " USING (tenant_id = current_setting('" +
                  tenant_setting_for(*d, first.datname) +
                  "')::int)); check with \\d+ and SELECT * FROM pg_policies WHERE tablename = '" +
                  first.table + "'.";
  }
  if (!unknown.empty()) {
    step.severity = std::max(step.severity, Severity::Warning);
    findings.push_back("unknown for " + list_of(unknown));
    if (step.action.empty()) {
      step.action =
          "Let pgpulse's role read every database (GRANT CONNECT ON DATABASE ... TO pgpulse), or "
          "leave it out with rls.databases.exclude; a timeout means a locked catalog (VACUUM "
          "FULL, REINDEX of pg_class): it is retried with backoff.";
    }
  }
  double now =
      input.now_unix > 0
          ? input.now_unix
          : std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                .count();
  std::vector<std::string> drift;
  for (const auto& c : d->recent_policy_changes) {
    if (c.change == "added") continue;
    step.measure("policy_change_age", std::max(0.0, now - c.seen_at_unix), "seconds",
                 c.datname + ":" + c.schema + "." + c.table + " " + c.policy);
    drift.push_back("policy \"" + c.policy + "\" on " + c.datname + ":" + c.schema + "." + c.table +
                    " " + c.change + " " + fmt_seconds(std::max(0.0, now - c.seen_at_unix)) +
                    " ago");
  }
  if (!drift.empty()) {
    step.severity = std::max(step.severity, Severity::Warning);
    findings.push_back(list_of(drift));
    if (step.action.empty()) {
      step.action =
          "Confirm the policy change was a reviewed migration: SELECT * FROM pg_policies WHERE "
          "tablename = '<table>'; recreate the policy if it was not.";
    }
  }
  std::vector<std::string> bypassing;
  for (const auto& role : d->bypass_roles) {
    if (role.exempt) continue;
    bypassing.push_back(role.rolname + " (" + role.reason + ")");
    step.measure("bypass_role", 1, "role", role.rolname);
  }
  if (!bypassing.empty()) {
    step.severity = std::max(step.severity, Severity::Warning);
    findings.push_back("role(s) bypassing RLS outside rls.exempt_roles: " + list_of(bypassing));
  }
  if (findings.empty() || (unprotected.empty() && unknown.empty())) {
    findings.insert(findings.begin(), "RLS is in force on every tenant table judged in the " +
                                          std::to_string(scanned) + " database(s) scanned");
  }
  if (!quiet.empty()) {
    findings.push_back("RLS not in use in database(s) " + list_of(quiet) +
                       " (rls.scope in_use: their tenant-column tables are not judged)");
  }
  step.finding = findings.front();
  for (std::size_t i = 1; i < findings.size(); ++i) step.finding += "; " + findings[i];
  return step;
}

DiagnosisStep monitoring_step(const DiagnosisInput& input) {
  const auto* d = input.target.find<core::RlsDetails>();
  if (!d) return skipped("monitoring", "How pgpulse connects", "no catalog scan yet");
  DiagnosisStep step{"monitoring", "How pgpulse connects", Severity::Ok,
                     "as a role without superuser"};
  step.measure("superuser", d->monitoring_role_superuser ? 1 : 0, "boolean");
  if (d->monitoring_role_superuser) {
    step.severity = Severity::Info;
    step.finding = "as a superuser: it needs only pg_monitor and CONNECT";
    step.action =
        "CREATE ROLE pgpulse LOGIN CONNECTION LIMIT 4 IN ROLE pg_monitor; run pgpulse as it "
        "(see README, the monitoring role).";
  }
  return step;
}

}  // namespace pgpulse::analysis
