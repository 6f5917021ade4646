#include "smbd/fsa/file_open.hh"

namespace smb::fsa {

std::string_view FileOpen::name() const {
  std::string_view p = path;
  auto slash = p.find_last_of('\\');
  return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

}  // namespace smb::fsa
