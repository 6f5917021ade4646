#include "smbd/conf/users.hh"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "smbd/auth/nt_hash.hh"
#include "smbd/conf/text.hh"

namespace smb::conf {

namespace {

constexpr std::string_view kNoHash = "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";
// Samba's account flag letters in the order pdb_encode_acct_ctrl() writes them.
constexpr std::string_view kFlagOrder = "NDHTUMWSLXI";
// Samba pads the flags to 11 characters inside the brackets.
constexpr std::size_t kFlagsWidth = 11;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = ascii_lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::optional<NtHash> parse_hash(std::string_view field) {
  if (field.size() != 32) return std::nullopt;
  NtHash hash{};
  for (std::size_t i = 0; i < 16; ++i) {
    int hi = hex_value(field[2 * i]);
    int lo = hex_value(field[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    hash[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return hash;
}

std::string sort_flags(std::string_view flags) {
  std::string out;
  for (char f : kFlagOrder)
    if (flags.find(f) != std::string_view::npos) out.push_back(f);
  // Letters Samba does not know are kept after the known ones.
  for (char f : flags)
    if (kFlagOrder.find(f) == std::string_view::npos && out.find(f) == std::string::npos)
      out.push_back(f);
  return out;
}

std::string lct(std::time_t when) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "LCT-%08lX",
                static_cast<unsigned long>(static_cast<std::uint32_t>(when)));
  return buf;
}

std::string lct_now() { return lct(std::time(nullptr)); }

bool valid_user_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (c == ':' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  return trim(name).size() == name.size();
}

// Closes the descriptor it owns.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

}  // namespace

std::string UserDb::hash_hex(const NtHash& hash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (std::uint8_t b : hash) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

std::optional<UserDb::Entry> UserDb::parse_entry(std::string_view line) {
  std::vector<std::string_view> fields;
  while (true) {
    std::size_t colon = line.find(':');
    fields.push_back(line.substr(0, colon));
    if (colon == std::string_view::npos) break;
    line.remove_prefix(colon + 1);
  }
  if (fields.size() < 4 || !valid_user_name(fields[0])) return std::nullopt;
  Entry e;
  e.name = std::string(fields[0]);
  auto uid = parse_number(fields[1], 0, 0xFFFFFFFFu);
  if (!uid || trim(fields[1]).size() != fields[1].size()) return std::nullopt;
  e.uid = static_cast<std::uint32_t>(*uid);
  e.lm_field = std::string(fields[2]);
  e.nt_field = std::string(fields[3]);
  e.nt = parse_hash(fields[3]);
  bool nt_ok = e.nt.has_value() || fields[3].substr(0, 11) == "NO PASSWORD" ||
               (fields[3].size() == 32 && fields[3].find_first_not_of("X*") == std::string::npos);
  if (!nt_ok) return std::nullopt;
  std::size_t next = 4;
  if (fields.size() > 4 && !fields[4].empty() && fields[4].front() == '[') {
    std::string_view f = fields[4];
    if (f.back() != ']') return std::nullopt;
    for (char c : f.substr(1, f.size() - 2))
      if (c != ' ') {
        if (c < 'A' || c > 'Z') return std::nullopt;
        e.flags.push_back(c);
      }
    next = 5;
    if (fields.size() > 5 && fields[5].substr(0, 4) == "LCT-") {
      e.lct = std::string(fields[5]);
      next = 6;
    }
  } else {
    e.flags.assign(1, 'U');  // the old format without flags: a normal user
  }
  for (std::size_t i = next; i < fields.size(); ++i) {
    e.rest += fields[i];
    if (i + 1 < fields.size()) e.rest += ':';
  }
  return e;
}

std::string UserDb::render(const Entry& e) {
  std::string flags = sort_flags(e.flags);
  if (flags.size() < kFlagsWidth) flags.append(kFlagsWidth - flags.size(), ' ');
  std::string out = e.name + ":" + std::to_string(e.uid) + ":" + e.lm_field + ":" + e.nt_field +
                    ":[" + flags + "]:" + e.lct + ":";
  out += e.rest;
  return out;
}

bool may_log_on(const User& user, bool null_passwords) {
  return !user.disabled && (!user.no_password || null_passwords);
}

User UserDb::to_user(const Entry& e) {
  User u;
  u.name = e.name;
  u.uid = e.uid;
  u.flags = sort_flags(e.flags);
  u.no_password = e.flags.find('N') != std::string::npos;
  if (e.nt) u.nt_hash = *e.nt;
  // Without a stored hash and without N nobody can log on as this account.
  u.disabled = e.flags.find('D') != std::string::npos || (!e.nt && !u.no_password);
  return u;
}

UserDb UserDb::parse(std::string_view text, std::vector<std::string>* warnings) {
  UserDb db;
  db.final_newline_ = text.empty() || text.back() == '\n';
  unsigned line_no = 0;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    Line l;
    l.text = std::string(line);
    std::string_view content = line;
    if (!content.empty() && content.back() == '\r') content.remove_suffix(1);
    if (!trim(content).empty() && trim(content).front() != '#') {
      l.entry = parse_entry(content);
      if (!l.entry && warnings != nullptr)
        warnings->push_back("line " + std::to_string(line_no) + ": malformed entry ignored");
      if (l.entry && db.find(l.entry->name) != nullptr) {
        // The first entry of a name wins, as in Samba; later ones stay in the file.
        if (warnings != nullptr)
          warnings->push_back("line " + std::to_string(line_no) + ": duplicate user '" +
                              l.entry->name + "' ignored");
        l.entry.reset();
      }
    }
    db.lines_.push_back(std::move(l));
  }
  return db;
}

std::optional<UserDb> UserDb::load(const std::filesystem::path& path, std::string& error,
                                   bool missing_ok, std::vector<std::string>* warnings) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (missing_ok && errno == ENOENT) return UserDb();
    error = path.string() + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    error = path.string() + ": read error";
    return std::nullopt;
  }
  return parse(text.str(), warnings);
}

UserDb::Line* UserDb::find(std::string_view name) {
  for (Line& l : lines_)
    if (l.entry && iequals(l.entry->name, name)) return &l;
  return nullptr;
}

const UserDb::Line* UserDb::find(std::string_view name) const {
  for (const Line& l : lines_)
    if (l.entry && iequals(l.entry->name, name)) return &l;
  return nullptr;
}

std::optional<User> UserDb::lookup(std::string_view name) const {
  const Line* l = find(name);
  if (l == nullptr) return std::nullopt;
  const std::string& f = l->entry->flags;
  if (f.find_first_of("WSI") != std::string::npos) return std::nullopt;
  return to_user(*l->entry);
}

bool UserDb::contains(std::string_view name) const { return find(name) != nullptr; }

std::vector<User> UserDb::list() const {
  std::vector<User> users;
  for (const Line& l : lines_)
    if (l.entry) users.push_back(to_user(*l.entry));
  return users;
}

bool UserDb::add(std::string_view name, std::uint32_t uid, std::string_view password,
                 std::string& error) {
  if (!valid_user_name(name)) {
    error = "invalid user name '" + std::string(name) + "'";
    return false;
  }
  if (contains(name)) {
    error = "user '" + std::string(name) + "' already exists";
    return false;
  }
  Entry e;
  e.name = std::string(name);
  e.uid = uid;
  e.lm_field = std::string(kNoHash);  // no LM hashes: LM authentication is never offered
  e.nt = smb::auth::nt_hash(password);
  e.nt_field = hash_hex(*e.nt);
  e.flags.assign(1, 'U');
  e.lct = lct_now();
  Line l;
  l.entry = std::move(e);
  l.changed = true;
  lines_.push_back(std::move(l));
  return true;
}

bool UserDb::set_password(std::string_view name, std::string_view password) {
  return set_password(name, password, std::time(nullptr));
}

bool UserDb::set_password(std::string_view name, std::string_view password,
                          std::time_t changed) {
  Line* l = find(name);
  if (l == nullptr) return false;
  Entry& e = *l->entry;
  e.nt = smb::auth::nt_hash(password);
  e.nt_field = hash_hex(*e.nt);
  e.lm_field = std::string(kNoHash);  // an old LM hash would no longer match
  std::erase(e.flags, 'N');
  e.lct = lct(changed);
  l->changed = true;
  return true;
}

bool UserDb::set_disabled(std::string_view name, bool disabled) {
  Line* l = find(name);
  if (l == nullptr) return false;
  Entry& e = *l->entry;
  std::erase(e.flags, 'D');
  if (disabled) e.flags.push_back('D');
  l->changed = true;
  return true;
}

bool UserDb::remove(std::string_view name) {
  for (auto it = lines_.begin(); it != lines_.end(); ++it) {
    if (it->entry && iequals(it->entry->name, name)) {
      lines_.erase(it);
      return true;
    }
  }
  return false;
}

std::string UserDb::serialize() const {
  std::string out;
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    const Line& l = lines_[i];
    out += l.changed ? render(*l.entry) : l.text;
    // The last line keeps whatever ending it had; every other line ends in a newline.
    bool last = i + 1 == lines_.size();
    if (!last || l.changed || final_newline_) out += '\n';
  }
  return out;
}

bool UserDb::save(const std::filesystem::path& path, std::string& error) const {
  std::string text = serialize();
  std::string tmpl = path.string() + ".XXXXXX";
  Fd fd(::mkstemp(tmpl.data()));
  if (fd.get() < 0) {
    error = "cannot create a temporary file next to " + path.string() + ": " + std::strerror(errno);
    return false;
  }
  auto fail = [&](const char* what) {
    error = std::string(what) + " " + tmpl + ": " + std::strerror(errno);
    ::unlink(tmpl.c_str());
    return false;
  };
  if (::fchmod(fd.get(), 0600) != 0) return fail("cannot set the mode of");
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("cannot write");
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail("cannot sync");
  if (::close(fd.release()) != 0) return fail("cannot close");
  if (::rename(tmpl.c_str(), path.c_str()) != 0) return fail("cannot rename");
  return true;
}

}  // namespace smb::conf
