#include "smbd/conf/log.hh"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <vector>

namespace smb::log {

namespace detail {
std::atomic<int> current_level{0};
}

namespace {

struct Sink {
  std::mutex mutex;
  int fd = STDOUT_FILENO;  // owned unless it is standard output
  std::string path;        // empty: standard output
  std::string program = "smbd";

  void set_fd(int fd_new) {
    if (fd != STDOUT_FILENO && fd >= 0) ::close(fd);
    fd = fd_new;
  }
  ~Sink() { set_fd(STDOUT_FILENO); }
};

Sink& sink() {
  static Sink s;
  return s;
}

std::atomic<bool> reopen_requested{false};

int open_append(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere to report a failing log
    done += static_cast<std::size_t>(n);
  }
}

std::string timestamp() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  tm utc{};
  ::gmtime_r(&now.tv_sec, &utc);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buf + n, sizeof buf - n, ".%06ldZ", static_cast<long>(now.tv_nsec / 1000));
  return buf;
}

void append_clean(std::string& out, const char* text, std::size_t length) {
  for (std::size_t i = 0; i < length; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n' || c == '\r' || c == '\t')
      out.push_back(' ');
    else if (c < 0x20 || c == 0x7f)
      out.push_back('?');
    else
      out.push_back(static_cast<char>(c));
  }
}

__attribute__((format(printf, 3, 0))) void vlog(int level, const char* client, const char* format,
                                                va_list args) {
  char small[512];
  va_list copy;
  va_copy(copy, args);
  int n = std::vsnprintf(small, sizeof small, format, copy);
  va_end(copy);
  if (n < 0) return;
  std::vector<char> large;
  const char* text = small;
  if (static_cast<std::size_t>(n) >= sizeof small) {
    large.resize(static_cast<std::size_t>(n) + 1);
    std::vsnprintf(large.data(), large.size(), format, args);
    text = large.data();
  }

  Sink& s = sink();
  std::lock_guard lock(s.mutex);
  if (reopen_requested.exchange(false) && !s.path.empty()) {
    int fd = open_append(s.path);
    if (fd >= 0) s.set_fd(fd);
  }
  std::string line = timestamp();
  line += ' ';
  line += s.program;
  line += '[' + std::to_string(::getpid()) + "] <" + std::to_string(level) + "> ";
  if (client != nullptr && *client != '\0') {
    append_clean(line, client, std::strlen(client));
    line += ": ";
  }
  append_clean(line, text, static_cast<std::size_t>(n));
  line += '\n';
  write_all(s.fd, line);
}

}  // namespace

void set_level(int level) { detail::current_level.store(level, std::memory_order_relaxed); }
int level() { return detail::current_level.load(std::memory_order_relaxed); }

void set_program_name(const std::string& name) {
  Sink& s = sink();
  std::lock_guard lock(s.mutex);
  s.program = name;
}

bool open_file(const std::string& path, std::string& error) {
  int fd = open_append(path);
  if (fd < 0) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  Sink& s = sink();
  std::lock_guard lock(s.mutex);
  s.set_fd(fd);
  s.path = path;
  return true;
}

void use_stdout() {
  Sink& s = sink();
  std::lock_guard lock(s.mutex);
  s.set_fd(STDOUT_FILENO);
  s.path.clear();
}

void reopen() {
  Sink& s = sink();
  std::lock_guard lock(s.mutex);
  reopen_requested.store(false);
  if (s.path.empty()) return;
  int fd = open_append(s.path);
  if (fd >= 0) s.set_fd(fd);
}

void request_reopen() noexcept { reopen_requested.store(true); }

#define SMB_LOG_FORWARD(level_value)           \
  do {                                         \
    if (!enabled(level_value)) return;         \
    va_list args;                              \
    va_start(args, format);                    \
    vlog((level_value), client, format, args); \
    va_end(args);                              \
  } while (false)

void message(int level_value, const char* client, const char* format, ...) {
  SMB_LOG_FORWARD(level_value);
}
void error(const char* client, const char* format, ...) { SMB_LOG_FORWARD(kError); }
void warning(const char* client, const char* format, ...) { SMB_LOG_FORWARD(kWarning); }
void notice(const char* client, const char* format, ...) { SMB_LOG_FORWARD(kNotice); }
void info(const char* client, const char* format, ...) { SMB_LOG_FORWARD(kInfo); }
void debug(int level_value, const char* client, const char* format, ...) {
  SMB_LOG_FORWARD(level_value);
}

#undef SMB_LOG_FORWARD

}  // namespace smb::log
