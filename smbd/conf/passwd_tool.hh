// smbd-passwd: maintains the smbpasswd file, with the options of Samba's smbpasswd.
//
//   smbd-passwd [-c SMB_CONF | -f SMBPASSWD_FILE] [-s] (-a USER | -x USER | -d USER |
//                -e USER | -L | USER)
//
// Exit status: 0 done, 1 the operation failed, 2 bad command line.
#pragma once

#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace smb::conf {

struct PasswdIo {
  std::istream& in;  // passwords with -s, two lines that must match
  std::ostream& out;
  std::ostream& err;
  // Reads a password from the terminal without echo; nullopt when there is none.
  std::function<std::optional<std::string>(const char* prompt)> read_secret;
};

// `args` excludes the program name.
int run_smbd_passwd(const std::vector<std::string>& args, PasswdIo& io);
std::string smbd_passwd_usage();

}  // namespace smb::conf
