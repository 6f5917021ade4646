// Closing an open (MS-FSA 2.1.5.5): on the loop the open leaves the table and gives up its
// oplock, and the last-close rule decides whether the file goes; on a pool thread the
// attributes are read for the closer and the file is deleted.
#pragma once

#include "smbd/base/ntstatus.hh"
#include "smbd/fsa/file_open.hh"
#include "smbd/fsa/open_table.hh"
#include "smbd/fsa/oplocks.hh"

namespace smb::fsa {

// On the loop. True when the file is to be deleted now (delete_closed_file()): the open
// was to delete it and was its last open.
bool close_open(OpenTable& table, Oplocks& oplocks, FileOpen& open);

// On a pool thread, for an open close_open() has taken out: the file's attributes as
// they are at the close.
NtStatus query_closed_file(const FileOpen& open, FileInfo& out);

// On a pool thread (or at teardown): deletes the file of an open close_open() said goes,
// as the calling thread's user; when the kernel refuses it and the file's own stored NT
// ACL granted the open DELETE, as the process. SUCCESS also when the file is gone already.
NtStatus delete_closed_file(const FileOpen& open);

}  // namespace smb::fsa
