#pragma once
// Password files (Docker and Kubernetes secrets): read safely, because the path comes from
// configuration and the file from whoever controls the mount. Only a regular file, at most
// kMaxSecretFileBytes, opened without blocking: /dev/zero, a FIFO or a directory is an error at
// once, never a hang or a 2 GB read. Errors name the path, never the content.
#include <cstddef>
#include <optional>
#include <string>

namespace pgpulse::config {

inline constexpr std::size_t kMaxSecretFileBytes = 4096;

struct SecretFile {
  std::optional<std::string> value;  // the first line (Docker/Kubernetes secrets end with a
                                     // newline); nullopt when the file is empty
  std::string error;                 // "" when read; else why not, naming the path
};

SecretFile read_secret_file(const std::string& path);

}  // namespace pgpulse::config
