// A scratch directory tree for the vfs tests: <tmp>/share is the share root and
// <tmp>/outside a sibling directory the share must never reach.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace smb::vfs::test {

class TestDir {
 public:
  TestDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "vfs_test.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp");
    base_ = tmpl;
    std::filesystem::create_directory(root());
    std::filesystem::create_directory(outside());
    write(outside() / "secret", "outside");
  }
  ~TestDir() {
    std::error_code ec;
    std::filesystem::remove_all(base_, ec);
  }
  TestDir(const TestDir&) = delete;
  TestDir& operator=(const TestDir&) = delete;

  std::filesystem::path root() const { return base_ / "share"; }
  std::filesystem::path outside() const { return base_ / "outside"; }

  static void write(const std::filesystem::path& p, const std::string& data) {
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("create " + p.string());
    const bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
    ::close(fd);
    if (!ok) throw std::runtime_error("write " + p.string());
  }
  static std::string read(const std::filesystem::path& p) {
    std::string out;
    const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    return out;
  }

 private:
  std::filesystem::path base_;
};

}  // namespace smb::vfs::test
