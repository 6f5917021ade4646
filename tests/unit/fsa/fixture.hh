// A share in a scratch directory with this process's open table and oplocks, and CREATE
// run the way the SMB layer runs it: prepare_create, open_file, admit_open.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "smbd/base/wire.hh"
#include "smbd/fsa/close.hh"
#include "smbd/fsa/create.hh"
#include "smbd/fsa/open_table.hh"
#include "smbd/fsa/oplocks.hh"
#include "tests/unit/vfs/test_dir.hh"

namespace smb::fsa::test {

namespace am = access_mask;

struct Fixture {
  vfs::test::TestDir dir;
  std::shared_ptr<vfs::Share> share = std::make_shared<vfs::Share>();
  LocalOpenTable table;
  Oplocks oplocks;

  explicit Fixture(vfs::Backend backend = vfs::Backend::posix) {
    std::string error;
    REQUIRE(vfs::Share::open(dir.root().string(), *share, &error, backend) == NtStatus::SUCCESS);
  }

  CreateScope scope() const {
    CreateScope s;
    s.share = share;
    s.maximal_access = kFileAllAccess;
    return s;
  }

  static CreateParameters parameters(
      std::string path, std::uint32_t access, std::uint32_t share_access,
      CreateDisposition disposition = CreateDisposition::FILE_OPEN_IF, std::uint32_t options = 0) {
    CreateParameters p;
    p.path = std::move(path);
    p.desired_access = access;
    p.share_access = share_access;
    p.create_disposition = disposition;
    p.create_options = options;
    return p;
  }

  // The whole CREATE; `open` is set when it succeeded, and is recorded in the table.
  NtStatus create(const CreateParameters& p, std::unique_ptr<FileOpen>& open,
                  OpenedFile* opened = nullptr) {
    CreatePlan plan;
    if (NtStatus s = prepare_create(p, scope(), plan); s != NtStatus::SUCCESS) return s;
    OpenedFile file;
    if (NtStatus s = open_file(plan, file); s != NtStatus::SUCCESS) return s;
    auto made = std::make_unique<FileOpen>();
    if (NtStatus s = admit_open(table, plan, file, *made); s != NtStatus::SUCCESS) return s;
    // As the SMB layer does: an overwrite's data goes once the open is admitted.
    if (NtStatus s = finish_overwrite(file); s != NtStatus::SUCCESS) {
      (void)close_open(table, oplocks, *made);
      return s;
    }
    open = std::move(made);
    if (opened != nullptr) *opened = std::move(file);
    return NtStatus::SUCCESS;
  }

  NtStatus create(const std::string& path, std::uint32_t access, std::uint32_t share_access,
                  std::unique_ptr<FileOpen>& open) {
    return create(parameters(path, access, share_access), open);
  }

  // CLOSE as the SMB layer runs it; true when it deleted the file.
  bool close(std::unique_ptr<FileOpen>& open) {
    bool deletes = close_open(table, oplocks, *open);
    if (deletes) CHECK(delete_closed_file(*open) == NtStatus::SUCCESS);
    open.reset();
    return deletes;
  }

  bool exists(const std::string& name) const { return std::filesystem::exists(dir.root() / name); }
};

inline constexpr std::uint32_t kShareAll = kFileShareRead | kFileShareWrite | kFileShareDelete;

}  // namespace smb::fsa::test
