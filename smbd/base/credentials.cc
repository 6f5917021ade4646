#include "smbd/base/credentials.hh"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>

namespace smb {

namespace {

// The raw system calls: they change (or read) the calling thread only. 32-bit x86 and
// ARM have separate calls for 32-bit ids.
#if defined(SYS_setresuid32)
constexpr long kSetresuid = SYS_setresuid32;
constexpr long kSetresgid = SYS_setresgid32;
constexpr long kSetgroups = SYS_setgroups32;
constexpr long kGetresuid = SYS_getresuid32;
constexpr long kGetresgid = SYS_getresgid32;
constexpr long kGetgroups = SYS_getgroups32;
#else
constexpr long kSetresuid = SYS_setresuid;
constexpr long kSetresgid = SYS_setresgid;
constexpr long kSetgroups = SYS_setgroups;
constexpr long kGetresuid = SYS_getresuid;
constexpr long kGetresgid = SYS_getresgid;
constexpr long kGetgroups = SYS_getgroups;
#endif

constexpr uid_t kUnchangedUid = static_cast<uid_t>(-1);

struct KernelIds {
  uid_t ruid = 0, euid = 0, suid = 0;
  gid_t rgid = 0, egid = 0, sgid = 0;
  std::vector<gid_t> groups;
};

bool read_kernel_ids(KernelIds& out) {
  if (::syscall(kGetresuid, &out.ruid, &out.euid, &out.suid) != 0) return false;
  if (::syscall(kGetresgid, &out.rgid, &out.egid, &out.sgid) != 0) return false;
  for (;;) {
    long n = ::syscall(kGetgroups, 0, nullptr);
    if (n < 0) return false;
    out.groups.resize(static_cast<std::size_t>(n));
    long got = ::syscall(kGetgroups, n, out.groups.data());
    if (got >= 0) {
      out.groups.resize(static_cast<std::size_t>(got));
      break;
    }
    if (errno != EINVAL) return false;  // EINVAL: the list grew meanwhile
  }
  std::sort(out.groups.begin(), out.groups.end());
  out.groups.erase(std::unique(out.groups.begin(), out.groups.end()), out.groups.end());
  return true;
}

struct ProcessStart {
  IdentityPtr identity;
  uid_t saved_uid = 0;
  bool can_switch = false;
};

ProcessStart read_process_start() {
  KernelIds ids;
  ProcessStart start;
  if (!read_kernel_ids(ids)) std::abort();  // the calls cannot fail for the caller itself
  start.identity =
      std::make_shared<const PosixIdentity>(PosixIdentity::make(ids.euid, ids.egid, ids.groups));
  start.saved_uid = ids.suid;
  start.can_switch = ids.euid == 0;
  return start;
}

const ProcessStart& process_start() {
  static const ProcessStart start = read_process_start();
  return start;
}

// Read during static initialisation, on the main thread, before any thread can switch.
[[maybe_unused]] const ProcessStart& g_read_at_start = process_start();

// What the calling thread was last made to act as; null when unknown (a new thread, or
// a switch the kernel refused half-way).
thread_local IdentityPtr t_known;

}  // namespace

PosixIdentity PosixIdentity::make(uid_t uid, gid_t gid, std::vector<gid_t> groups) {
  std::sort(groups.begin(), groups.end());
  groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
  return PosixIdentity{uid, gid, std::move(groups)};
}

std::string PosixIdentity::describe() const {
  std::string out = "uid " + std::to_string(uid) + ", gid " + std::to_string(gid) + ", groups ";
  if (groups.empty()) out += "none";
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (i != 0) out += ',';
    out += std::to_string(groups[i]);
  }
  return out;
}

namespace credentials {

const IdentityPtr& process_identity() { return process_start().identity; }

bool can_switch() { return process_start().can_switch; }

bool thread_acts_as(const PosixIdentity& identity) {
  // Checked after every job: three system calls, the group list read at once into room
  // for one more group than expected (a longer list does not fit: EINVAL, not a match).
  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  if (::syscall(kGetresuid, &ruid, &euid, &suid) != 0) return false;
  if (ruid != identity.uid || euid != identity.uid || suid != process_start().saved_uid)
    return false;
  if (::syscall(kGetresgid, &rgid, &egid, &sgid) != 0) return false;
  if (rgid != identity.gid || egid != identity.gid) return false;
  std::array<gid_t, 64> small;
  std::vector<gid_t> large;
  const std::size_t room = identity.groups.size() + 1;
  gid_t* groups = small.data();
  if (room > small.size()) {
    large.resize(room);
    groups = large.data();
  }
  long got = ::syscall(kGetgroups, static_cast<long>(room), groups);
  if (got < 0 || static_cast<std::size_t>(got) != identity.groups.size()) return false;
  // The kernel keeps the list sorted (setgroups sorts it); sort anyway, as read_kernel_ids.
  std::sort(groups, groups + got);
  return std::equal(groups, groups + got, identity.groups.begin());
}

const IdentityPtr& current() { return t_known ? t_known : process_identity(); }

bool become(const IdentityPtr& identity) {
  if (t_known && (t_known == identity || *t_known == *identity)) {
    t_known = identity;
    return true;
  }
  if (!can_switch()) {
    if (*identity != *process_identity()) {
      errno = EPERM;
      return false;
    }
    t_known = identity;
    return true;
  }
  t_known.reset();
  // Root first: the groups and gids can only be set with CAP_SETGID, which a thread
  // acting as a user has lost. The saved uid lets it take euid 0 back.
  if (::syscall(kSetresuid, kUnchangedUid, uid_t{0}, kUnchangedUid) != 0) return false;
  if (::syscall(kSetgroups, identity->groups.size(), identity->groups.data()) != 0) return false;
  if (::syscall(kSetresgid, identity->gid, identity->gid, static_cast<gid_t>(-1)) != 0)
    return false;
  // Real and effective uid, so that access(2) and the file-system uid agree; the saved
  // uid stays as the process started.
  if (::syscall(kSetresuid, identity->uid, identity->uid, kUnchangedUid) != 0) return false;
  t_known = identity;
  return true;
}

bool become_verified(const IdentityPtr& identity) {
  if (!become(identity)) return false;
  if (thread_acts_as(*identity)) return true;
  t_known.reset();
  (void)become(identity);
  return false;
}

IdentityScope::IdentityScope(const IdentityPtr& identity) : previous_(current()) {
  ok_ = become(identity);
}

IdentityScope::~IdentityScope() {
  if (become(previous_)) return;
  static constexpr char kMessage[] = "fatal: a thread cannot take its previous identity back\n";
  (void)!::write(2, kMessage, sizeof kMessage - 1);
  std::abort();
}

JobIdentity run_as(const IdentityPtr& identity, const std::function<void()>& job) {
  if (!become(identity)) return JobIdentity::not_taken;
  job();
  if (!thread_acts_as(*identity)) {
    t_known.reset();
    return JobIdentity::changed;
  }
  return JobIdentity::kept;
}

}  // namespace credentials
}  // namespace smb
