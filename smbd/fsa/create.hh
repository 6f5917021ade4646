// CREATE as the object store serves it (MS-FSA 2.1.5.1 "Server Requests an Open of a
// File"): the rules on the parameters, the access the open is granted, the file-system
// work, and the share-mode check against the file's other opens.
//
// Three steps, the first and last on the event loop, the middle one on a pool thread:
//   prepare_create()  parameter rules and access; nothing on disk is touched
//   open_file()       opens or creates the file, applies the security descriptor of a
//                     new file, opens its data path (FileData), drops the old data of an
//                     overwritten pmem file through its mapping
//   admit_open()      the share-mode check; the open takes the file and is recorded
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "smbd/base/ntstatus.hh"
#include "smbd/base/security_descriptor.hh"
#include "smbd/base/unique_fd.hh"
#include "smbd/base/wire.hh"
#include "smbd/fsa/file_open.hh"
#include "smbd/fsa/open_table.hh"
#include "smbd/vfs/file_data.hh"
#include "smbd/vfs/nt_token.hh"
#include "smbd/vfs/share.hh"

namespace smb::fsa {

// What the opener asks for (the inputs of MS-FSA 2.1.5.1).
struct CreateParameters {
  std::string path;  // share-relative, backslash separated, no leading backslash
  std::uint32_t desired_access = 0;
  std::uint32_t file_attributes = 0;
  std::uint32_t share_access = 0;
  CreateDisposition create_disposition = CreateDisposition::FILE_OPEN;
  std::uint32_t create_options = 0;
  // Applied to a file this open creates, ignored for an existing one (MS-FSA 2.1.5.1.1).
  std::shared_ptr<const dtyp::SecurityDescriptor> security_descriptor;
  // EAs for a file this open creates or overwrites (vfs/share.hh OpenRequest::eas).
  std::shared_ptr<const std::vector<vfs::ExtendedAttribute>> eas;
  // The AlSi context's size for a file this open creates (vfs/share.hh); 0 for none.
  std::uint64_t allocation_size = 0;
};

// The share the file is opened through, and what its user may do there.
struct CreateScope {
  std::shared_ptr<vfs::Share> share;
  std::uint32_t maximal_access = 0;  // what MAXIMUM_ALLOWED stands for
  bool read_only = false;
  vfs::NewFilePolicy new_file;  // permissions and owner of new files and directories
  // Set on shares that store NT ACLs (`vfs objects = acl_xattr`): who the opener is, for
  // the access check against a file's stored descriptor (docs/security.md).
  std::shared_ptr<const vfs::NtToken> token;
  // `vfs objects = streams_xattr`: "file:stream:$DATA" names a stream (vfs/streams.hh);
  // without it a ":" in a name is OBJECT_NAME_INVALID, as Samba answers without the module.
  bool streams = false;
};

// The open to make, decided by prepare_create().
struct CreatePlan {
  std::shared_ptr<vfs::Share> share;
  std::string path;
  vfs::OpenRequest request;  // with the granted access
  std::uint32_t granted_access = 0;
  std::uint32_t share_access = 0;
  bool delete_on_close = false;
  std::shared_ptr<const dtyp::SecurityDescriptor> security_descriptor;
  std::uint32_t security_information = 0;     // the parts of it to apply
  std::shared_ptr<const vfs::NtToken> token;  // as in CreateScope
  std::uint32_t requested_access = 0;         // generic rights mapped, MAXIMUM_ALLOWED kept
  std::uint32_t maximal_access = 0;           // the share's, as in CreateScope
  // A named stream of the file at `path` (vfs/streams.hh), "" for the file itself.
  std::string stream;
  bool streams = false;  // the share keeps named streams (CreateScope::streams)
};

// What open_file() opened.
struct OpenedFile {
  vfs::OpenResult result;
  std::shared_ptr<UniqueFd> fd;
  std::shared_ptr<vfs::FileData> io;
  bool unmapped = false;  // a file of a pmem share that could not be mapped
  // What a stored descriptor granted an existing file's open, and everything it allows
  // the opener (the MxAc answer), when the file has one.
  std::optional<std::uint32_t> granted_access;
  std::optional<std::uint32_t> maximal_access;
  bool granted_by_acl = false;     // granted_access is a stored descriptor's answer
  bool acl_grants_delete = false;  // the file's own stored descriptor grants DELETE
  // An overwrite or supersede whose data is dropped once the open is admitted
  // (finish_overwrite): a CREATE refused for a sharing violation leaves the file whole.
  bool truncate_after_admission = false;
  // An overwrite or supersede of a file with named streams: they go with its data
  // ([MS-FSA] 2.1.5.1.2.1), at the same step.
  bool drop_streams = false;
  // The AlSi size an overwrite reserves once the old data is gone, at the same step.
  std::uint64_t reserve_after_truncate = 0;
  // The named streams of a file opened with DELETE on a share with streams: each open of
  // one that does not share delete refuses this open ([MS-FSA] 2.1.5.1.2.2).
  std::vector<std::string> stream_names;
  std::string stream;  // the named stream opened, its on-disk spelling ("" for none)
};

// The key of the file or stream an open reaches (share modes, delete-pending and caching
// are per stream, [MS-FSA] 2.1.1.4).
FileKey key_of(const OpenedFile& file);

// MS-FSA 2.1.5.1 parameter validation: INVALID_PARAMETER for a disposition out of range,
// FILE_DIRECTORY_FILE with FILE_NON_DIRECTORY_FILE, or an attribute outside the ones a
// CREATE may ask for.
NtStatus check_create_parameters(const CreateParameters& parameters);

// On the loop: check_create_parameters(), then the access the open gets:
//   PRIVILEGE_NOT_HELD  ACCESS_SYSTEM_SECURITY, or a security descriptor with a SACL
//                       (no user here holds SeSecurityPrivilege)
//   ACCESS_DENIED       a security descriptor naming an owner or group without
//                       WRITE_OWNER on the share; no access left after the generic
//                       mapping; FILE_DELETE_ON_CLOSE without DELETE; on a read-only
//                       share, write access or a disposition that may write
NtStatus prepare_create(const CreateParameters& parameters, const CreateScope& scope,
                        CreatePlan& plan);

// On a pool thread: the file-system work of the plan. The status of the backend; a new
// file that cannot carry its security descriptor is removed again. With a token (a
// share that stores NT ACLs), before the file system is asked: an existing file's stored
// descriptor must grant the requested access ([MS-DTYP] 2.5.3.2, with FILE_DELETE_CHILD
// on the parent standing in for DELETE), and a new entry needs FILE_ADD_FILE or
// FILE_ADD_SUBDIRECTORY from its parent's stored descriptor (ACCESS_DENIED otherwise; a
// malformed stored descriptor refuses every user but root). A new entry then gets the
// CREATE's descriptor or the one it inherits, stored with it, its mode in step.
NtStatus open_file(const CreatePlan& plan, OpenedFile& out);

// On the loop, after open_file(): fills `open` from the plan and the file and records it
// in the table, unless the file is delete-pending (DELETE_PENDING) or an open of it does
// not share with this one (SHARING_VIOLATION); `open` is then to be discarded.
// After admit_open(), on the pool as the user: empties the file an overwriting CREATE
// opened and reads its information again.
NtStatus finish_overwrite(OpenedFile& file);

NtStatus admit_open(OpenTable& table, const CreatePlan& plan, const OpenedFile& file,
                    FileOpen& open);

}  // namespace smb::fsa
