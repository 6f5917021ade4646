// smbstatus names the transport of each channel: a session over SMB Direct (the software
// fabric, or verbs in the VM lab) shows its channel as "SMB Direct", with its open file.
#include <cstdio>
#include <string>

#include <doctest/doctest.h>

#include "tests/integration/smbdirect/harness.hh"

using namespace smb;
using namespace smbdirect_test;

namespace {

// Standard output of a command, and its exit status.
std::string run(const std::string& command, int& status) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  status = ::pclose(pipe);
  return out;
}

}  // namespace

TEST_CASE("smbstatus lists an SMB Direct channel, its session and its open file") {
  Server server;
  Session s = open_rdma(server);
  auto& c = s.rdma->smb();
  FileId f = create_file(c, s.tree, "listed-over-rdma.txt");
  int status = -1;
  std::string json = run(std::string(SMBSTATUS_BIN) + " -s '" + server.conf() + "' --json", status);
  INFO(json);
  CHECK(status == 0);
  CHECK(json.find("\"transport\": \"SMB Direct\"") != std::string::npos);
  CHECK(json.find("\"transport\": \"TCP\"") == std::string::npos);
  CHECK(json.find("\"username\": \"" + server.user + "\"") != std::string::npos);
  CHECK(json.find("\"dialect\": \"SMB3_11\"") != std::string::npos);
  CHECK(json.find("\"service\": \"data\"") != std::string::npos);
  CHECK(json.find("\"path\": \"listed-over-rdma.txt\"") != std::string::npos);
  CHECK(c.close(s.tree, f) == NtStatus::SUCCESS);
  CHECK(server.log_problems().empty());
}
