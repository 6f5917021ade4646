#include "smbd/conf/log.hh"

#include <doctest/doctest.h>
#include <unistd.h>

#include <regex>
#include <thread>
#include <vector>

#include "smbd/conf/cmdline.hh"
#include "temp_dir.hh"

using smb::conf::test::read_file;
using smb::conf::test::TempDir;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    lines.push_back(text.substr(start, nl - start));
    start = nl == std::string::npos ? text.size() : nl + 1;
  }
  return lines;
}

// Restores logging to standard output at level 0 whatever a test did.
struct LogReset {
  ~LogReset() {
    smb::log::use_stdout();
    smb::log::set_level(0);
  }
};

}  // namespace

TEST_CASE("log lines: timestamp pid level client message") {
  LogReset reset;
  TempDir dir;
  std::string error;
  auto path = (dir / "smbd.log").string();
  REQUIRE(smb::log::open_file(path, error));
  smb::log::set_level(2);
  smb::log::notice("127.0.0.1:51234", "user '%s' refused, %d tries", "bob", 3);
  smb::log::error(nullptr, "plain %s", "event");
  smb::log::info("127.0.0.1:1", "not logged at level 2");
  smb::log::debug(5, nullptr, "not logged either");
  auto lines = lines_of(read_file(path));
  REQUIRE(lines.size() == 2);
  std::string pid = std::to_string(::getpid());
  std::regex first("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z smbd\\[" + pid +
                   "\\] <2> 127\\.0\\.0\\.1:51234: user 'bob' refused, 3 tries");
  CHECK(std::regex_match(lines[0], first));
  std::regex second(".*Z smbd\\[" + pid + "\\] <0> plain event");
  CHECK(std::regex_match(lines[1], second));
}

TEST_CASE("levels: enabled() and the Samba meaning of each") {
  LogReset reset;
  smb::log::set_level(3);
  CHECK(smb::log::level() == 3);
  CHECK(smb::log::enabled(smb::log::kError));
  CHECK(smb::log::enabled(smb::log::kInfo));
  CHECK_FALSE(smb::log::enabled(smb::log::kDebug));
  smb::log::set_level(0);
  CHECK(smb::log::enabled(smb::log::kError));
  CHECK_FALSE(smb::log::enabled(smb::log::kWarning));
}

TEST_CASE("an event stays one line and long messages are complete") {
  LogReset reset;
  TempDir dir;
  std::string error;
  auto path = (dir / "smbd.log").string();
  REQUIRE(smb::log::open_file(path, error));
  smb::log::set_level(smb::log::kWarning);
  smb::log::set_program_name("smbd-test");
  smb::log::warning("evil\nclient", "name '%s'",
                    "a\nb\x01"
                    "c");
  std::string big(5000, 'x');
  smb::log::warning(nullptr, "%s", big.c_str());
  smb::log::set_program_name("smbd");
  auto lines = lines_of(read_file(path));
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].find("smbd-test[") != std::string::npos);
  CHECK(lines[0].find("evil client: name 'a b?c'") != std::string::npos);
  CHECK(lines[1].size() > 5000);
  CHECK(lines[1].substr(lines[1].size() - 5000) == big);
}

TEST_CASE("reopen after the file was moved away") {
  LogReset reset;
  TempDir dir;
  std::string error;
  auto path = dir / "smbd.log";
  REQUIRE(smb::log::open_file(path.string(), error));
  smb::log::error(nullptr, "before");
  std::filesystem::rename(path, dir / "smbd.log.old");
  smb::log::request_reopen();
  smb::log::error(nullptr, "after");
  CHECK(read_file(dir / "smbd.log.old").find("before") != std::string::npos);
  CHECK(read_file(dir / "smbd.log.old").find("after") == std::string::npos);
  CHECK(read_file(path).find("after") != std::string::npos);
  std::filesystem::remove(path);
  smb::log::reopen();
  smb::log::error(nullptr, "again");
  CHECK(read_file(path).find("again") != std::string::npos);
  CHECK_FALSE(smb::log::open_file((dir / "no" / "such.log").string(), error));
  CHECK(error.find("such.log") != std::string::npos);
}

TEST_CASE("threads write whole lines") {
  LogReset reset;
  TempDir dir;
  std::string error;
  auto path = dir / "smbd.log";
  REQUIRE(smb::log::open_file(path.string(), error));
  smb::log::set_level(3);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t] {
      for (int i = 0; i < 200; ++i) smb::log::info("c", "thread %d event %d end", t, i);
    });
  for (auto& th : threads) th.join();
  auto lines = lines_of(read_file(path));
  CHECK(lines.size() == 800);
  std::regex shape(".*<3> c: thread \\d event \\d+ end");
  for (const auto& line : lines) CHECK(std::regex_match(line, shape));
}

TEST_CASE("configure_logging follows the configuration") {
  LogReset reset;
  TempDir dir;
  smb::conf::Global g;
  g.log_level = 4;
  g.log_file = (dir / "log.smbd").string();
  std::string error;
  REQUIRE(smb::conf::configure_logging(g, error));
  CHECK(smb::log::level() == 4);
  smb::log::info(nullptr, "to the file");
  CHECK(read_file(g.log_file).find("to the file") != std::string::npos);
  g.log_file = (dir / "missing-dir" / "log").string();
  CHECK_FALSE(smb::conf::configure_logging(g, error));
}
