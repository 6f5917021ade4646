// The lines a worker reports for smbstatus, through the master: one record a line, its
// fields separated by tabs, the first naming the record:
//
//   session  PID SESSION-ID USER DOMAIN CLIENT DIALECT SIGNING ENCRYPTION LOGON
//   channel  PID SESSION-ID CLIENT TRANSPORT
//   tree     PID SESSION-ID TREE-ID SHARE
//   open     PID SESSION-ID TREE-ID SHARE PATH ACCESS SHARE-ACCESS OPLOCK
//   truncated PID                         (the report did not fit; the rest is missing)
//
// A field escapes backslash, tab and newline as \\, \t and \n, so any path fits.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace smb {

// Appends one record: the fields escaped, tab-separated, ending in a newline.
void append_status_line(std::string& out, const std::vector<std::string>& fields);
// The fields of one line (without its newline), unescaped.
std::vector<std::string> split_status_line(std::string_view line);

}  // namespace smb
