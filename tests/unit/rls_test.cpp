#include <catch2/catch.hpp>

#include "collectors/rls.hpp"
#include "collectors/rls_posture.hpp"
#include "collectors/rls_watch.hpp"

using namespace pgpulse::collectors;
using namespace pgpulse::core;

namespace {

TableRow table(std::string name, bool enabled, bool forced, long policies, bool tenant_column) {
  TableRow row;
  row.schema = "public";
  row.table = std::move(name);
  row.rls_enabled = enabled;
  row.rls_forced = forced;
  row.policies = policies;
  row.has_tenant_column = tenant_column;
  return row;
}

PolicyRow policy(std::string table, std::string name, std::string qual) {
  return PolicyRow{"public", std::move(table), std::move(name), true,
                   '*',      "public",         std::move(qual), ""};
}

}  // namespace

TEST_CASE("every RLS status is classified") {
  CHECK(classify(table("a", true, false, 2, true), true) == RlsStatus::Protected);
  CHECK(classify(table("a", true, true, 1, true), true) == RlsStatus::Forced);
  CHECK(classify(table("a", true, false, 0, true), true) == RlsStatus::EnabledNoPolicy);
  CHECK(classify(table("a", false, false, 1, true), true) == RlsStatus::PoliciesButDisabled);
  CHECK(classify(table("a", false, false, 0, true), true) == RlsStatus::Unprotected);
  CHECK(classify(table("a", false, false, 0, false), false) == RlsStatus::NotTenant);
  // RLS on a table that is not a tenant table is still reported for what it is
  CHECK(classify(table("a", true, false, 1, false), false) == RlsStatus::Protected);
  CHECK(status_label(RlsStatus::PoliciesButDisabled) == "policies_but_disabled");
}

TEST_CASE("tenant tables come from a tenant column or a name pattern") {
  TenantRule rule({"billing\\..*", "public\\.accounts"});
  CHECK(rule.is_tenant(table("x", false, false, 0, true)));
  CHECK_FALSE(rule.is_tenant(table("x", false, false, 0, false)));
  CHECK(rule.is_tenant(table("accounts", false, false, 0, false)));
  CHECK_FALSE(rule.is_tenant(table("accounts_archive", false, false, 0, false)));  // full match
  auto invoice = table("invoices", false, false, 0, false);
  invoice.schema = "billing";
  CHECK(rule.is_tenant(invoice));
}

TEST_CASE("a database's posture counts statuses, policies and unprotected tenant tables") {
  TenantRule rule({});
  auto posture = assess_database(
      {table("orders", true, false, 2, true), table("users", true, true, 1, true),
       table("notes", false, false, 1, true), table("leads", false, false, 0, true),
       table("countries", false, false, 0, false), table("locked", true, false, 0, true)},
      rule);
  CHECK(posture.tables.at(RlsStatus::Protected) == 1);
  CHECK(posture.tables.at(RlsStatus::Forced) == 1);
  CHECK(posture.tables.at(RlsStatus::PoliciesButDisabled) == 1);
  CHECK(posture.tables.at(RlsStatus::Unprotected) == 1);
  CHECK(posture.tables.at(RlsStatus::NotTenant) == 1);
  CHECK(posture.tables.at(RlsStatus::EnabledNoPolicy) == 1);
  CHECK(posture.policies == 4);
  CHECK(posture.unprotected_tenant_tables == 2);  // leads, and notes whose policies do nothing
  REQUIRE(posture.tenant_tables.size() == 5);
  CHECK(posture.tenant_tables[0].table == "leads");  // unprotected first, by name
  CHECK(posture.tenant_tables[1].table == "notes");
  CHECK(assess_database({}, rule).tables.size() == 6);  // zeros for every status
}

TEST_CASE("policy drift: added, removed, altered, unchanged") {
  std::vector<PolicyRow> before{policy("orders", "tenant_isolation", "(tenant_id = 1)"),
                                policy("users", "own_rows", "(id = 1)"),
                                policy("notes", "same", "true")};
  std::vector<PolicyRow> after{policy("orders", "tenant_isolation", "(tenant_id = 2)"),
                               policy("notes", "same", "true"),
                               policy("invoices", "tenant_isolation", "(tenant_id = 1)")};
  auto changes = diff_policies(before, after);
  REQUIRE(changes.size() == 3);
  std::map<std::string, PolicyChangeKind> by_table;
  for (const auto& c : changes) by_table[c.table] = c.kind;
  CHECK(by_table.at("orders") == PolicyChangeKind::Altered);
  CHECK(by_table.at("users") == PolicyChangeKind::Removed);
  CHECK(by_table.at("invoices") == PolicyChangeKind::Added);
  auto roles_changed = after;
  roles_changed[1].roles = "app_user";
  CHECK(diff_policies(after, roles_changed).size() == 1);
  CHECK(diff_policies(after, after).empty());
}

TEST_CASE("policy drift compares permissive - command - roles and both digests") {
  auto base = policy("orders", "p", "d41d8cd98f00b204e9800998ecf8427e");
  std::vector<PolicyRow> before{base};
  auto altered = [&](auto change) {
    auto row = base;
    change(row);
    auto changes = diff_policies(before, {row});
    return changes.size() == 1 && changes[0].kind == PolicyChangeKind::Altered &&
           changes[0].name == "p";
  };
  CHECK(altered([](PolicyRow& r) { r.permissive = false; }));
  CHECK(altered([](PolicyRow& r) { r.cmd = 'r'; }));
  CHECK(altered([](PolicyRow& r) { r.roles = "app_user"; }));
  CHECK(altered([](PolicyRow& r) { r.qual = "0cc175b9c0f1b6a831c399e269772661"; }));
  CHECK(altered([](PolicyRow& r) { r.with_check = "0cc175b9c0f1b6a831c399e269772661"; }));
  CHECK(diff_policies(before, {base}).empty());
}

TEST_CASE("policy drift lists added and altered policies in key order and removed ones last") {
  auto in = [](std::string schema, std::string table, std::string name, std::string qual) {
    auto row = policy(std::move(table), std::move(name), std::move(qual));
    row.schema = std::move(schema);
    return row;
  };
  // Catalog order is arbitrary: neither list is sorted.
  std::vector<PolicyRow> before{in("public", "b", "p2", "x"), in("app", "z", "p", "x"),
                                in("public", "b", "p1", "x"), in("public", "a", "gone", "x"),
                                in("public", "c", "gone", "x")};
  std::vector<PolicyRow> after{in("public", "b", "p1", "y"), in("public", "b", "p2", "x"),
                               in("public", "d", "new", "x"), in("app", "z", "p", "y"),
                               in("app", "a", "new", "x")};
  auto changes = diff_policies(before, after);
  REQUIRE(changes.size() == 6);
  auto is = [&](std::size_t i, PolicyChangeKind kind, const std::string& schema,
                const std::string& table, const std::string& name) {
    return changes[i].kind == kind && changes[i].schema == schema && changes[i].table == table &&
           changes[i].name == name;
  };
  CHECK(is(0, PolicyChangeKind::Added, "app", "a", "new"));
  CHECK(is(1, PolicyChangeKind::Altered, "app", "z", "p"));
  CHECK(is(2, PolicyChangeKind::Altered, "public", "b", "p1"));
  CHECK(is(3, PolicyChangeKind::Added, "public", "d", "new"));
  CHECK(is(4, PolicyChangeKind::Removed, "public", "a", "gone"));
  CHECK(is(5, PolicyChangeKind::Removed, "public", "c", "gone"));
  // A policy of the same name on another table is another policy.
  CHECK(diff_policies({in("public", "a", "p", "x")}, {in("public", "b", "p", "x")}).size() == 2);
  CHECK(diff_policies({}, {}).empty());
  CHECK(diff_policies(before, {}).size() == before.size());
}

TEST_CASE("tenant tables are sorted unprotected first then by schema and table") {
  TenantRule rule({});
  auto in = [](std::string schema, std::string name, bool enabled, long policies) {
    auto row = table(std::move(name), enabled, false, policies, true);
    row.schema = std::move(schema);
    return row;
  };
  auto posture = assess_database(
      {in("public", "b", true, 1), in("app", "z", false, 0), in("public", "a", false, 1),
       in("app", "y", true, 1), in("app", "x", false, 0), in("public", "a2", true, 0)},
      rule);
  std::vector<std::string> order;
  for (const auto& t : posture.tenant_tables) order.push_back(t.schema + "." + t.table);
  CHECK(order ==
        std::vector<std::string>{"app.x", "app.z", "public.a", "app.y", "public.a2", "public.b"});
  CHECK(posture.unprotected_tenant_tables == 3);
  CHECK(posture.tenant_tables[2].status == RlsStatus::PoliciesButDisabled);
  CHECK(rls_in_force(RlsStatus::EnabledNoPolicy));
  CHECK_FALSE(rls_in_force(RlsStatus::Unprotected));
}

TEST_CASE("without name patterns only the tenant column makes a tenant table") {
  TenantRule none({});
  CHECK(none.is_tenant(table("x", false, false, 0, true)));
  CHECK_FALSE(none.is_tenant(table("accounts", false, false, 0, false)));
}

TEST_CASE("seq-scan-heavy tables by size and share of rows read sequentially") {
  SeqScanRule rule{1000, 0.5};
  auto big = table("events", false, false, 0, false);
  big.has_stats = true;
  big.size_bytes = 5000;
  big.seq_scan = 10;
  big.seq_tup_read = 9000;
  big.idx_tup_fetch = 1000;
  auto indexed = big;
  indexed.table = "orders";
  indexed.seq_tup_read = 100;
  indexed.idx_tup_fetch = 100000;
  auto small = big;
  small.table = "tiny";
  small.size_bytes = 10;
  auto candidates = seq_scan_candidates({big, indexed, small}, {}, rule);
  REQUIRE(candidates.size() == 1);
  CHECK(candidates[0].table == "events");
  CHECK(candidates[0].ratio == Approx(0.9));

  // Since the previous scan only index lookups happened on events: no longer a candidate.
  ScanCounters previous = counters_to_keep({big, indexed, small}, rule);
  CHECK(previous.count({"public", "tiny"}) == 0);  // too small to remember
  auto later = big;
  later.idx_tup_fetch += 50000;
  CHECK(seq_scan_candidates({later}, previous, rule).empty());
  // A stats reset (counters going down) falls back to the cumulative numbers.
  auto reset = big;
  reset.seq_tup_read = 800;
  reset.idx_tup_fetch = 0;
  reset.seq_scan = 1;
  CHECK(seq_scan_candidates({reset}, previous, rule).size() == 1);
}

TEST_CASE("databases are narrowed by include and exclude lists") {
  pgpulse::config::RlsConfig options;
  std::vector<std::string> available{"postgres", "orders", "billing", "scratch"};
  CHECK(select_databases(available, options) ==
        std::vector<std::string>{"billing", "orders", "postgres", "scratch"});
  options.exclude_databases = {"scratch"};
  CHECK(select_databases(available, options) ==
        std::vector<std::string>{"billing", "orders", "postgres"});
  options.include_databases = {"orders", "scratch", "missing"};
  CHECK(select_databases(available, options) == std::vector<std::string>{"orders"});
}

TEST_CASE("the RLS catalog fingerprint asks for a scan on a change, never on the first read") {
  std::optional<std::string> last;
  CHECK_FALSE(pgpulse::collectors::fingerprint_changed(last, "a"));
  CHECK_FALSE(pgpulse::collectors::fingerprint_changed(last, "a"));
  CHECK(pgpulse::collectors::fingerprint_changed(last, "b"));
  CHECK_FALSE(pgpulse::collectors::fingerprint_changed(last, "b"));
}
