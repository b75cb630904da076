#include "oms/core/snapshot_file.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace oms::core {

namespace {
bool fail(std::string* err, const std::string& what) {
  if (err) *err = what + ": " + std::strerror(errno);
  return false;
}
}  // namespace

bool make_dirs(const std::string& dir, std::string* err) {
  std::string cur;
  for (std::size_t i = 0; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      if (!cur.empty() && ::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) return fail(err, "mkdir " + cur);
    }
    if (i < dir.size()) cur += dir[i];
  }
  return true;
}

bool write_file_atomic(const std::string& path, std::span<const std::span<const std::uint8_t>> parts,
                       std::string* err, bool (*before_rename)(void*), void* ctx) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail(err, "open " + tmp);
  for (const auto& p : parts) {
    std::size_t off = 0;
    while (off < p.size()) {
      const ssize_t n = ::write(fd, p.data() + off, p.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        ::close(fd);
        return fail(err, "write " + tmp);
      }
      off += static_cast<std::size_t>(n);
    }
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    return fail(err, "fsync " + tmp);
  }
  ::close(fd);
  if (before_rename && !before_rename(ctx)) {
    ::unlink(tmp.c_str());
    if (err) *err = "abandoned";
    return false;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(err, "rename " + tmp);
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

bool read_file(const std::string& path, std::vector<std::uint8_t>& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return false;
  }
  out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t off = 0;
  while (off < out.size()) {
    const ssize_t n = ::read(fd, out.data() + off, out.size() - off);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      ::close(fd);
      return false;
    }
    off += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return true;
}

}  // namespace oms::core
