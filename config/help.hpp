#pragma once
// `pgpulse --help`: every flag of the schema with its value, default, accepted values,
// environment variable and config key, in aligned columns (help2man makes pgpulse.1 from it).
#include <string>
#include <vector>

#include "config/config_schema.hpp"

namespace pgpulse::config {

std::string render_help(const std::vector<KeySpec>& schema,
                        const std::vector<CollectorInfo>& collectors);

}  // namespace pgpulse::config
