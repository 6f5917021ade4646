// Logging with Samba's levels 0-10: one line per event,
//
//   2025-01-02T03:04:05.123456Z smbd[4242] <2> 127.0.0.1:51234: message
//
// (timestamp in UTC, program and pid, level, client address when there is one). Lines
// go to the log file (opened for append; every line is one write(2), so processes
// sharing the file do not interleave) or to standard output. Thread-safe. A disabled
// level costs one relaxed atomic load: the check comes before any formatting.
#pragma once

#include <atomic>
#include <string>

namespace smb::log {

// Samba's conventions for what each level is for.
inline constexpr int kError = 0;
inline constexpr int kWarning = 1;
inline constexpr int kNotice = 2;
inline constexpr int kInfo = 3;
inline constexpr int kDebug = 5;
inline constexpr int kTrace = 10;

namespace detail {
extern std::atomic<int> current_level;
}

inline bool enabled(int level) {
  return level <= detail::current_level.load(std::memory_order_relaxed);
}
void set_level(int level);
int level();

// The name in each line; "smbd" unless set.
void set_program_name(const std::string& name);
// Appends to `path` from now on, creating it with mode 0644; false with `error` set when
// it cannot be opened (the previous destination stays).
bool open_file(const std::string& path, std::string& error);
// Writes to standard output from now on.
void use_stdout();
// Opens the log file again, e.g. after it was rotated away; used on SIGHUP.
void reopen();
// Async-signal-safe: the next line logged reopens the file first.
void request_reopen() noexcept;

// `client` may be null. Messages are printf-style; control characters in the result
// (from names a client sent, say) are replaced so that an event stays one line.
void message(int level, const char* client, const char* format, ...)
    __attribute__((format(printf, 3, 4)));
void error(const char* client, const char* format, ...) __attribute__((format(printf, 2, 3)));
void warning(const char* client, const char* format, ...) __attribute__((format(printf, 2, 3)));
void notice(const char* client, const char* format, ...) __attribute__((format(printf, 2, 3)));
void info(const char* client, const char* format, ...) __attribute__((format(printf, 2, 3)));
void debug(int level, const char* client, const char* format, ...)
    __attribute__((format(printf, 3, 4)));

}  // namespace smb::log
