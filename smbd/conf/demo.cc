#include <sys/stat.h>
#include <unistd.h>

#include <system_error>

#include "smbd/conf/config.hh"
#include "smbd/conf/users.hh"

namespace smb::conf {

bool prepare_demo(const std::filesystem::path& state_dir, std::string& error) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir / "demo", ec);
  if (ec) {
    error = (state_dir / "demo").string() + ": " + ec.message();
    return false;
  }
  // The password file lives here; nobody else needs to look into the directory.
  ::chmod(state_dir.c_str(), 0700);
  std::filesystem::path passwd = state_dir / "smbpasswd";
  auto db = UserDb::load(passwd, error, /*missing_ok=*/true);
  if (!db) return false;
  if (db->contains("demo")) return true;
  if (!db->add("demo", static_cast<std::uint32_t>(::getuid()), "demo", error)) return false;
  return db->save(passwd, error);
}

}  // namespace smb::conf
