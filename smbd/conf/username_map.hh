// `username map`: the file that maps the names clients log on with (and Kerberos
// principals' names) to Unix account names, in Samba's format:
//
//   # comment            ; comment
//   root = admin administrator
//   alice = "Alice Smith" asmith
//   !guest = *
//
// Each line maps every name on its right (compared without case; `*` is any name;
// quotes keep a name with spaces together) to the Unix name on its left. Lines apply in
// order and the last one that matches wins, except that a line starting with `!` that
// matches ends the search. Samba's group entries (`@group`, `+group`, `&group`) are not
// understood here: such a name is ignored with a warning, never matched.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smb::conf {

class UsernameMap {
 public:
  // Reads the file; nullopt with `error` set when it cannot be read. Lines it cannot use
  // are reported in `warnings` ("users.map:3: ...").
  static std::optional<UsernameMap> load(const std::filesystem::path& path, std::string& error,
                                         std::vector<std::string>* warnings = nullptr);
  static UsernameMap parse(std::string_view text, std::string_view file_name = "username map",
                           std::vector<std::string>* warnings = nullptr);

  // The Unix name `name` maps to, or `name` itself when no line maps it.
  std::string map(std::string_view name) const;
  bool empty() const { return lines_.empty(); }

 private:
  struct Line {
    std::string unix_name;
    std::vector<std::string> names;  // "*" matches any name
    bool last = false;               // `!`: a match ends the search
  };
  std::vector<Line> lines_;
};

}  // namespace smb::conf
