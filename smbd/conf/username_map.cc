#include "smbd/conf/username_map.hh"

#include <strings.h>

#include <fstream>
#include <sstream>

namespace smb::conf {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// The names of a right-hand side: separated by white space, "quoted" ones kept whole.
// False when a quote is not closed.
bool split_names(std::string_view text, std::vector<std::string>& out) {
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ' || text[i] == '\t') {
      ++i;
      continue;
    }
    if (text[i] == '"') {
      std::size_t end = text.find('"', i + 1);
      if (end == std::string_view::npos) return false;
      out.emplace_back(text.substr(i + 1, end - i - 1));
      i = end + 1;
      continue;
    }
    std::size_t end = text.find_first_of(" \t", i);
    if (end == std::string_view::npos) end = text.size();
    out.emplace_back(text.substr(i, end - i));
    i = end;
  }
  return true;
}

}  // namespace

std::optional<UsernameMap> UsernameMap::load(const std::filesystem::path& path, std::string& error,
                                             std::vector<std::string>* warnings) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read the username map " + path.string();
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path.filename().string(), warnings);
}

UsernameMap UsernameMap::parse(std::string_view text, std::string_view file_name,
                               std::vector<std::string>* warnings) {
  UsernameMap result;
  unsigned line_no = 0;
  auto warn = [&](const std::string& what) {
    if (warnings) warnings->push_back(std::string(file_name) + ":" + std::to_string(line_no) + ": " + what);
  };
  while (!text.empty()) {
    ++line_no;
    std::size_t end = text.find('\n');
    std::string_view line = trim(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    Line entry;
    if (line.front() == '!') {
      entry.last = true;
      line = trim(line.substr(1));
    }
    std::size_t equals = line.find('=');
    if (equals == std::string_view::npos) {
      warn("no '=': line ignored");
      continue;
    }
    entry.unix_name = std::string(trim(line.substr(0, equals)));
    std::vector<std::string> names;
    if (entry.unix_name.empty() || !split_names(line.substr(equals + 1), names)) {
      warn(entry.unix_name.empty() ? "no Unix name before '=': line ignored"
                                   : "unclosed quote: line ignored");
      continue;
    }
    for (auto& name : names) {
      if (!name.empty() && (name[0] == '@' || name[0] == '+' || name[0] == '&')) {
        warn("group entry '" + name + "' is not supported: ignored");
        continue;
      }
      if (!name.empty()) entry.names.push_back(std::move(name));
    }
    if (entry.names.empty()) continue;
    result.lines_.push_back(std::move(entry));
  }
  return result;
}

std::string UsernameMap::map(std::string_view name) const {
  std::string mapped(name);
  for (const auto& line : lines_) {
    bool matches = false;
    for (const auto& candidate : line.names)
      if (candidate == "*" || (candidate.size() == name.size() &&
                               strncasecmp(candidate.data(), name.data(), name.size()) == 0))
        matches = true;
    if (!matches) continue;
    mapped = line.unix_name;
    if (line.last) break;
  }
  return mapped;
}

}  // namespace smb::conf
