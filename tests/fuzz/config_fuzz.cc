// libFuzzer target for smb_conf: the smb.conf parser and the smbpasswd parser on arbitrary
// text. Both parsers see every input. Beyond memory safety it checks the documented
// round trips: dump_config output (what `smbd --check` prints) parses back without errors
// to an equal configuration that dumps the same, and an unchanged user database
// serializes to its input byte for byte.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "smbd/conf/config.hh"
#include "smbd/conf/users.hh"

using namespace smb::conf;

namespace {

std::string dump(const Config& config) {
  std::ostringstream out;
  dump_config(config, out);
  return out.str();
}

void fuzz_config(std::string_view text) {
  LoadResult r = parse_config(text, "fuzz.conf");
  for (const Diagnostic& d : r.diagnostics) (void)d.to_string();
  for (const Share& s : r.config.shares)
    if (r.config.find_share(s.name) == nullptr) __builtin_trap();
  if (!r.ok()) return;
  const std::string first = dump(r.config);
  LoadResult again = parse_config(first, "dump.conf");
  if (!again.ok()) __builtin_trap();
  if (!(again.config == r.config)) __builtin_trap();
  if (dump(again.config) != first) __builtin_trap();
}

void fuzz_users(std::string_view text) {
  std::vector<std::string> warnings;
  UserDb db = UserDb::parse(text, &warnings);
  if (db.serialize() != text) __builtin_trap();
  std::vector<User> users = db.list();
  for (const User& u : users) {
    (void)db.lookup(u.name);
    (void)UserDb::hash_hex(u.nt_hash);
  }
  if (users.empty()) return;
  // A change to the first account reads back as written.
  const std::string name = users.front().name;
  // A fixed change time: the clock would make two runs of one seed differ.
  if (!db.set_password(name, "fuzz-password", 0x5F000000)) return;
  UserDb reread = UserDb::parse(db.serialize());
  auto before = db.lookup(name);
  auto after = reread.lookup(name);
  if (before.has_value() != after.has_value()) __builtin_trap();
  if (before && before->nt_hash != after->nt_hash) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz_config(text);
  fuzz_users(text);
  return 0;
}
