// smbd-passwd: the command-line front end of run_smbd_passwd().
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "smbd/conf/passwd_tool.hh"

namespace {

// Reads one line from the controlling terminal with echo off.
std::optional<std::string> read_from_tty(const char* prompt) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return std::nullopt;
  struct Closer {
    int fd;
    termios saved{};
    bool restore = false;
    ~Closer() {
      if (restore) ::tcsetattr(fd, TCSAFLUSH, &saved);
      ::close(fd);
    }
  } tty{fd};
  if (::tcgetattr(fd, &tty.saved) != 0) return std::nullopt;
  termios quiet = tty.saved;
  quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
  quiet.c_lflag |= ECHONL;
  if (::tcsetattr(fd, TCSAFLUSH, &quiet) != 0) return std::nullopt;
  tty.restore = true;
  std::string p(prompt);
  if (::write(fd, p.data(), p.size()) < 0) return std::nullopt;
  std::string line;
  char c = 0;
  while (true) {
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0) return std::nullopt;
    if (n == 0) {
      if (line.empty()) return std::nullopt;
      break;
    }
    if (c == '\n') break;
    line.push_back(c);
  }
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  smb::conf::PasswdIo io{std::cin, std::cout, std::cerr, read_from_tty};
  return smb::conf::run_smbd_passwd(args, io);
}
