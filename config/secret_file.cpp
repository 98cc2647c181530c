#include "config/secret_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pgpulse::config {

SecretFile read_secret_file(const std::string& path) {
  SecretFile out;
  auto fail = [&](const std::string& why) {
    out.error = "password file \"" + path + "\" " + why;
    return out;
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return fail(std::string("cannot be opened: ") + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return fail("is not a regular file");
  }
  if (static_cast<std::size_t>(info.st_size) > kMaxSecretFileBytes) {
    ::close(fd);
    return fail("is larger than " + std::to_string(kMaxSecretFileBytes) + " bytes");
  }
  std::string text(kMaxSecretFileBytes + 1, '\0');
  std::size_t size = 0;
  while (size < text.size()) {
    auto n = ::read(fd, text.data() + size, text.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return fail(std::string("cannot be read: ") + std::strerror(errno));
    }
    if (n == 0) break;
    size += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (size > kMaxSecretFileBytes) return fail("grew beyond the size limit while being read");
  text.resize(size);
  std::string line = text.substr(0, text.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  if (!line.empty()) out.value = std::move(line);
  return out;
}

}  // namespace pgpulse::config
