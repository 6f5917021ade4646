// The user database in Samba's smbpasswd file format, one account a line:
//
//   name:uid:LMHASH:NTHASH:[UX         ]:LCT-5F3A1B2C:
//
// Hashes are 32 hex digits, or X's when not set, or "NO PASSWORD..." for accounts that
// need none. Account flags: U normal user, D disabled, N no password required, X password
// does not expire, W/S/I trust accounts, and Samba's others. Lines this class does not
// change are written back byte for byte, comments and unknown lines included.
#pragma once

#include <array>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smb::conf {

using NtHash = std::array<std::uint8_t, 16>;

struct User {
  std::string name;
  std::uint32_t uid = 0;
  NtHash nt_hash{};
  bool disabled = false;     // D flag, or no NT hash stored and N not set
  bool no_password = false;  // N flag: an empty password is accepted
  std::string flags;         // the account flags as stored, e.g. "UX"
};

// Whether `user` may log on at all: not disabled, and, when it has no password (flag N),
// only where `null passwords = yes` allows it, as Samba's smbd does.
bool may_log_on(const User& user, bool null_passwords);

class UserDb {
 public:
  UserDb() = default;

  // Reads a file. A missing file gives an empty database when `missing_ok`, otherwise
  // nullopt with `error` set. Malformed lines are kept and reported in `warnings`.
  static std::optional<UserDb> load(const std::filesystem::path& path, std::string& error,
                                    bool missing_ok = false,
                                    std::vector<std::string>* warnings = nullptr);
  static UserDb parse(std::string_view text, std::vector<std::string>* warnings = nullptr);

  // A normal user account by name, compared case-insensitively; trust accounts (W, S, I)
  // are not returned.
  std::optional<User> lookup(std::string_view name) const;
  bool contains(std::string_view name) const;
  // Every account in file order.
  std::vector<User> list() const;

  // Adds an enabled account with this password; false when the name is taken or invalid.
  bool add(std::string_view name, std::uint32_t uid, std::string_view password, std::string& error);
  // Sets the NT hash and the last-change time and clears N. False when not found.
  bool set_password(std::string_view name, std::string_view password);
  // The same with the last-change time given (seconds since the epoch), for callers
  // that must not depend on the clock (the fuzz target: a fixed seed repeats its run).
  bool set_password(std::string_view name, std::string_view password, std::time_t changed);
  bool set_disabled(std::string_view name, bool disabled);
  bool remove(std::string_view name);

  std::string serialize() const;
  // Writes a temporary file next to `path` with mode 0600 and renames it over `path`.
  bool save(const std::filesystem::path& path, std::string& error) const;

  // NT hash as an smbpasswd file spells it: 32 upper-case hex digits.
  static std::string hash_hex(const NtHash& hash);

 private:
  struct Entry {
    std::string name;
    std::uint32_t uid = 0;
    std::string lm_field;
    std::optional<NtHash> nt;  // none: X's or NO PASSWORD
    std::string nt_field;
    std::string flags;  // letters only, without brackets and padding
    std::string lct;    // "LCT-XXXXXXXX" or empty
    std::string rest;   // fields after LCT, kept as they are
  };
  struct Line {
    std::string text;  // the original line, without the newline
    std::optional<Entry> entry;
    bool changed = false;
  };

  static std::optional<Entry> parse_entry(std::string_view line);
  static std::string render(const Entry& entry);
  static User to_user(const Entry& entry);
  Line* find(std::string_view name);
  const Line* find(std::string_view name) const;

  std::vector<Line> lines_;
  bool final_newline_ = true;
};

}  // namespace smb::conf
