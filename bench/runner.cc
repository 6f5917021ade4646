#include "bench/runner.hh"

#include <sys/resource.h>

#include <algorithm>
#include <barrier>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <condition_variable>
#include <random>
#include <sstream>
#include <thread>

#include "bench/pattern.hh"
#include "smbd/client/connection.hh"
#include "smbd/client/rdma_client.hh"
#include "smbd/proto/fscc.hh"

namespace smb::bench {

using client::Connection;
using client::Tree;
using Clock = std::chrono::steady_clock;
namespace access = client::access;

void Stats::merge(const Stats& o) {
  all.merge(o.all);
  reads.merge(o.reads);
  writes.merge(o.writes);
  read_bytes += o.read_bytes;
  write_bytes += o.write_bytes;
  errors += o.errors;
  verified_bytes += o.verified_bytes;
  verify_failures += o.verify_failures;
  if (timeline_ops.size() < o.timeline_ops.size()) {
    timeline_ops.resize(o.timeline_ops.size());
    timeline_bytes.resize(o.timeline_bytes.size());
  }
  for (std::size_t i = 0; i < o.timeline_ops.size(); ++i) {
    timeline_ops[i] += o.timeline_ops[i];
    timeline_bytes[i] += o.timeline_bytes[i];
  }
  for (const auto& m : o.messages) note(m);
}

void Stats::note(const std::string& message) {
  if (messages.size() < 20) messages.push_back(message);
}

namespace {

// A stat's answer: SUCCESS with no FileAllInformation ([MS-FSCC] 2.4.2: 100 bytes and
// the name) is a malformed one.
NtStatus all_information(NtStatus s, const Bytes& output) {
  if (s == NtStatus::SUCCESS && output.size() < 100) return NtStatus::INVALID_NETWORK_RESPONSE;
  return s;
}

std::string hex_status(NtStatus s) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08X", static_cast<unsigned>(s));
  return b;
}

struct ReplayOp {
  enum Kind { read, write, stat, flush, echo, create, remove } kind = echo;
  std::string file;
  std::uint64_t offset = 0;
  std::uint32_t length = 0;
};

std::vector<ReplayOp> load_replay(const std::string& path, std::string& error) {
  std::vector<ReplayOp> ops;
  std::ifstream in(path);
  if (!in) {
    error = "cannot read replay file " + path;
    return ops;
  }
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::string verb;
    if (!(words >> verb)) continue;
    ReplayOp op;
    std::string size;
    if (verb == "read" || verb == "write") {
      op.kind = verb == "read" ? ReplayOp::read : ReplayOp::write;
      std::string offset;
      words >> op.file >> offset >> size;
      auto o = parse_size(offset), n = parse_size(size);
      if (op.file.empty() || !o || !n || *n == 0 || *n > (16u << 20)) {
        error = path + ":" + std::to_string(number) + ": expected " + verb + " FILE OFFSET LENGTH";
        return {};
      }
      op.offset = *o;
      op.length = static_cast<std::uint32_t>(*n);
    } else if (verb == "stat" || verb == "flush" || verb == "create" || verb == "delete") {
      op.kind = verb == "stat"     ? ReplayOp::stat
                : verb == "flush"  ? ReplayOp::flush
                : verb == "create" ? ReplayOp::create
                                   : ReplayOp::remove;
      words >> op.file;
      if (op.file.empty()) {
        error = path + ":" + std::to_string(number) + ": " + verb + " needs a file";
        return {};
      }
    } else if (verb == "echo") {
      op.kind = ReplayOp::echo;
    } else {
      error = path + ":" + std::to_string(number) + ": unknown operation " + verb;
      return {};
    }
    ops.push_back(op);
  }
  if (ops.empty() && error.empty()) error = path + ": no operations";
  return ops;
}

// Shared by the threads of one run.
struct Shared {
  const BenchOptions& o;
  Progress& progress;
  std::vector<ReplayOp> replay;
  Clock::time_point start;
  Clock::time_point ramp_end;
  Clock::time_point end;
  bool timed = false;
  std::mutex mutex;
  std::string failure;
  std::string dialect, signing, encryption;
  unsigned channels = 1;  // connections in all
  // Multi-channel (o.multichannel): the first connection's session, which the others
  // bind to once it is ready; it logs off only when they have all finished with it.
  Guid client_guid{};
  std::condition_variable changed;  // with `mutex`
  Connection* primary = nullptr;
  std::uint64_t session_id = 0;
  Tree tree;
  unsigned others_bound = 0;  // channels bound, or given up
  unsigned others_done = 0;   // channels finished with the session, or given up
};

class Job {
 public:
  // `rdma`: READ and WRITE through RDMA channels of this SMB Direct connection (null:
  // the data travels inline).
  Job(Shared& sh, Connection& c, client::RdmaClient* rdma, std::uint32_t io_max, const Tree& tree,
      unsigned index, std::uint64_t op_limit)
      : sh_(sh),
        o_(sh.o),
        c_(c),
        rdma_(rdma),
        io_max_(io_max),
        tree_(tree),
        index_(index),
        op_limit_(op_limit),
        rng_(sh.o.seed * 0x9E3779B97F4A7C15ull + index) {}

  void setup();
  void start();
  // alternate-open: a job that holds its open is still at work (its break is to come).
  bool active() const { return in_flight_ > 0 || held_.has_value(); }
  void stop();
  // alternate-open: a break notification on this job's connection; true when it was for
  // this job's open.
  bool on_break(const Connection::Break& b);
  void final_verify();
  void cleanup();
  Stats& stats() { return stats_; }

 private:
  struct File {
    std::string name;
    FileId id;
    std::vector<std::uint32_t> gen;  // per block of bs: write generation
    std::vector<bool> busy;
  };
  struct Slot {
    Bytes buffer;
    // The buffer registered for the server's RDMA Read or Write (RDMA channels only).
    std::unique_ptr<client::RdmaBuffer> region;
    std::uint64_t range = 0;  // the lock workload: the offset this slot locks
  };
  // The slot's registration, made again where the server invalidated the last one.
  const client::RdmaBuffer& region_of(Slot& slot);

  std::string path(const std::string& leaf) const { return o_.directory + "\\" + leaf; }
  std::string prefix() const { return "j" + std::to_string(index_); }
  std::string alternate_file() const { return path("alternate.bin"); }
  NtStatus open_file(const std::string& name, std::uint32_t access_mask,
                     CreateDisposition disposition, std::uint32_t options, FileId& id);
  void layout(File& f);
  // --streams: the named streams of the file `name`, written once.
  void add_streams(const std::string& name);
  void issue(Slot& slot);
  void next(Slot& slot);
  void complete(Slot& slot, Clock::time_point began, std::uint64_t bytes, int kind, NtStatus s);
  void fail(const std::string& what, NtStatus s);
  void issue_io(Slot& slot);
  void read_done(Slot& slot, Clock::time_point began, std::size_t fi, std::uint64_t block,
                 std::uint64_t offset, NtStatus s, ByteSpan data);
  void issue_replay(Slot& slot);
  void issue_alternate_open(Slot& slot);
  void opened(Slot& slot, Clock::time_point began, NtStatus s, const CreateResponse& p);
  // Gives the held open up (closes it), then opens again unless the job is stopping.
  void release_held();
  Pattern pattern(std::size_t file) const {
    return Pattern(o_.seed, static_cast<std::uint32_t>(index_ * 65536 + file));
  }

  Shared& sh_;
  const BenchOptions& o_;
  Connection& c_;
  client::RdmaClient* rdma_;
  std::uint32_t io_max_;  // largest READ/WRITE length on this connection
  Tree tree_;
  unsigned index_;
  std::uint64_t op_limit_;
  std::mt19937_64 rng_;
  std::vector<File> files_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<Slot*> idle_;  // slots waiting for a replay barrier or a free block
  std::uint64_t issued_ = 0;
  std::uint64_t cursor_ = 0;  // sequential io position, replay line, names
  unsigned in_flight_ = 0;
  bool stopping_ = false;
  Stats stats_;
  FileId dir_id_;
  // alternate-open
  Guid lease_key_{};
  std::optional<FileId> held_;  // the granted open, held until broken
  bool opening_ = false;        // its CREATE is in flight
  bool broken_early_ = false;   // a lease break came before the CREATE's answer
  bool releasing_ = false;      // acknowledging and closing
};

NtStatus Job::open_file(const std::string& name, std::uint32_t access_mask,
                        CreateDisposition disposition, std::uint32_t options, FileId& id) {
  return c_.open(tree_, name, access_mask | access::SYNCHRONIZE, disposition, options, id);
}

void Job::fail(const std::string& what, NtStatus s) {
  ++stats_.errors;
  stats_.note("job " + std::to_string(index_) + ": " + what + ": " + hex_status(s));
}

void Job::layout(File& f) {
  // Writes every byte once with generation 1, in large requests kept 8 deep.
  std::uint32_t chunk = std::min<std::uint32_t>(1u << 20, io_max_);
  chunk = std::max(chunk - chunk % o_.bs, o_.bs);
  Pattern p = pattern(static_cast<std::size_t>(&f - files_.data()));
  if (rdma_ != nullptr) {
    // Through the RDMA channel (chunks may be larger than an inline WRITE), one at a time.
    Bytes chunk_buffer(chunk);
    std::string error;
    auto region = rdma_->register_buffer(chunk_buffer, error);
    if (!region) throw client::Error(NtStatus::INSUFFICIENT_RESOURCES, "register: " + error);
    for (std::uint64_t at = 0; at < o_.size;) {
      auto n = static_cast<std::uint32_t>(std::min<std::uint64_t>(chunk, o_.size - at));
      p.fill(std::span<std::uint8_t>(chunk_buffer.data(), n), at, 1);
      if (!region->valid()) region = rdma_->register_buffer(chunk_buffer, error);
      if (!region) throw client::Error(NtStatus::INSUFFICIENT_RESOURCES, "register: " + error);
      std::uint32_t count = 0;
      NtStatus s = rdma_->write(tree_, f.id, at, n, *region, 0, false, count);
      if (s != NtStatus::SUCCESS || count != n) throw client::Error(s, "laying out " + f.name);
      at += n;
    }
    std::fill(f.gen.begin(), f.gen.end(), 1u);
    return;
  }
  std::uint64_t at = 0;
  unsigned outstanding = 0;
  NtStatus failed = NtStatus::SUCCESS;
  Bytes buffer;
  while (at < o_.size || outstanding > 0) {
    while (at < o_.size && outstanding < 8) {
      auto n = static_cast<std::uint32_t>(std::min<std::uint64_t>(chunk, o_.size - at));
      buffer.resize(n);
      p.fill(buffer, at, 1);
      ++outstanding;
      c_.write_async(tree_, f.id, at, buffer, [&](NtStatus s, std::uint32_t) {
        --outstanding;
        if (s != NtStatus::SUCCESS) failed = s;
      });
      at += n;
    }
    c_.wait_until([&] { return at < o_.size ? outstanding < 8 : outstanding == 0; });
  }
  if (failed != NtStatus::SUCCESS) throw client::Error(failed, "laying out " + f.name);
  std::fill(f.gen.begin(), f.gen.end(), 1u);
}

void Job::add_streams(const std::string& name) {
  for (unsigned i = 0; i < o_.streams; ++i) {
    FileId id;
    std::string stream = name + ":s" + std::to_string(i);
    NtStatus s = open_file(stream, access::GENERIC_WRITE, CreateDisposition::FILE_OVERWRITE_IF,
                           kFileNonDirectoryFile, id);
    if (s != NtStatus::SUCCESS) throw client::Error(s, "cannot create the stream " + stream);
    Bytes data(64, static_cast<std::uint8_t>('a' + i % 26));
    std::uint32_t count = 0;
    s = c_.write(tree_, id, 0, data, &count);
    c_.close(tree_, id);
    if (s != NtStatus::SUCCESS || count != data.size())
      throw client::Error(s, "cannot write the stream " + stream);
  }
}

void Job::setup() {
  const bool io = o_.workload == Workload::io;
  const bool handles = io || o_.workload == Workload::stat || o_.workload == Workload::fstat ||
                       o_.workload == Workload::setinfo || o_.workload == Workload::open_close;
  if (handles) {
    std::uint64_t blocks = io ? o_.size / o_.bs : 0;
    for (unsigned i = 0; i < o_.nrfiles; ++i) {
      File f;
      f.name = path(prefix() + ".f" + std::to_string(i));
      f.gen.assign(blocks, 0);
      f.busy.assign(blocks, false);
      NtStatus s = open_file(f.name, access::GENERIC_READ | access::GENERIC_WRITE | access::DELETE,
                             CreateDisposition::FILE_OVERWRITE_IF, kFileNonDirectoryFile, f.id);
      if (s != NtStatus::SUCCESS) throw client::Error(s, "cannot create " + f.name);
      add_streams(f.name);
      files_.push_back(std::move(f));
    }
    if (io)
      for (auto& f : files_) layout(f);
    if (o_.workload == Workload::open_close || o_.workload == Workload::stat)
      for (auto& f : files_) c_.close(tree_, f.id);
  }
  if (o_.workload == Workload::lock) {
    // One file for all jobs: each job's connection is a client (its own worker), so the
    // locks meet in the host-wide table.
    File f;
    f.name = path("locks.bin");
    NtStatus s = open_file(f.name, access::GENERIC_READ | access::GENERIC_WRITE | access::DELETE,
                           CreateDisposition::FILE_OPEN_IF, kFileNonDirectoryFile, f.id);
    if (s != NtStatus::SUCCESS) throw client::Error(s, "cannot open " + f.name);
    files_.push_back(std::move(f));
  }
  if (o_.workload == Workload::alternate_open) {
    FileId id;
    NtStatus s = open_file(alternate_file(), access::GENERIC_READ | access::GENERIC_WRITE,
                           CreateDisposition::FILE_OPEN_IF, kFileNonDirectoryFile, id);
    if (s != NtStatus::SUCCESS) throw client::Error(s, "cannot open " + alternate_file());
    c_.close(tree_, id);
    for (auto& byte : lease_key_) byte = static_cast<std::uint8_t>(rng_());
    // One open at a time per job: the slot waits for its break.
    slots_.push_back(std::make_unique<Slot>());
    return;
  }
  if (o_.workload == Workload::readdir) {
    std::string dir = path(prefix() + ".d");
    NtStatus s = open_file(dir, access::GENERIC_READ | access::GENERIC_WRITE,
                           CreateDisposition::FILE_OPEN_IF, kFileDirectoryFile, dir_id_);
    if (s != NtStatus::SUCCESS) throw client::Error(s, "cannot create " + dir);
    c_.close(tree_, dir_id_);
    for (unsigned i = 0; i < o_.nrfiles; ++i) {
      FileId id;
      s = open_file(dir + "\\e" + std::to_string(i), access::GENERIC_WRITE,
                    CreateDisposition::FILE_OVERWRITE_IF, kFileNonDirectoryFile, id);
      if (s != NtStatus::SUCCESS) throw client::Error(s, "cannot create entries in " + dir);
      c_.close(tree_, id);
      add_streams(dir + "\\e" + std::to_string(i));
    }
  }
  if (o_.workload == Workload::replay) {
    // Every file the replay names is opened once, up front, under this job's prefix.
    for (const ReplayOp& op : sh_.replay) {
      if (op.kind == ReplayOp::echo || op.kind == ReplayOp::create || op.kind == ReplayOp::remove)
        continue;
      std::string name = path(prefix() + "." + op.file);
      if (std::any_of(files_.begin(), files_.end(), [&](const File& f) { return f.name == name; }))
        continue;
      File f;
      f.name = name;
      NtStatus s = open_file(name, access::GENERIC_READ | access::GENERIC_WRITE | access::DELETE,
                             CreateDisposition::FILE_OPEN_IF, kFileNonDirectoryFile, f.id);
      if (s != NtStatus::SUCCESS) throw client::Error(s, "cannot open " + name);
      files_.push_back(std::move(f));
    }
  }
  for (unsigned i = 0; i < o_.iodepth; ++i) {
    auto slot = std::make_unique<Slot>();
    if (io) {
      slot->buffer.resize(o_.bs);
      pattern(0).fill(slot->buffer, 0, 1);
    }
    // Ranges of 64 bytes, apart for every job and slot: every LOCK is granted at once.
    slot->range = (static_cast<std::uint64_t>(index_) * o_.iodepth + i) * 64;
    if (o_.workload == Workload::replay) {
      std::uint32_t largest = 0;
      for (const ReplayOp& op : sh_.replay) largest = std::max(largest, op.length);
      slot->buffer.assign(largest, 0x5A);
    }
    if (rdma_ != nullptr && io) (void)region_of(*slot);
    slots_.push_back(std::move(slot));
  }
}

const client::RdmaBuffer& Job::region_of(Slot& slot) {
  if (!slot.region || !slot.region->valid()) {
    std::string error;
    slot.region = rdma_->register_buffer(slot.buffer, error);
    if (!slot.region) throw client::Error(NtStatus::INSUFFICIENT_RESOURCES, "register: " + error);
  }
  return *slot.region;
}

void Job::start() {
  for (auto& s : slots_) next(*s);
}

// Issues the next operation on `slot` unless the job is stopping.
void Job::next(Slot& slot) {
  if (stopping_ || (op_limit_ != 0 && issued_ >= op_limit_) || sh_.progress.abort.load()) return;
  issue(slot);
}

void Job::complete(Slot& slot, Clock::time_point began, std::uint64_t bytes, int kind, NtStatus s) {
  auto now = Clock::now();
  --in_flight_;
  if (s != NtStatus::SUCCESS && s != NtStatus::NO_MORE_FILES) fail("operation failed", s);
  auto since = std::chrono::duration<double>(now - sh_.start).count();
  auto bucket = static_cast<std::size_t>(std::max(0.0, since) / kTimelineStep);
  if (bucket < 100000) {
    if (stats_.timeline_ops.size() <= bucket) {
      stats_.timeline_ops.resize(bucket + 1);
      stats_.timeline_bytes.resize(bucket + 1);
    }
    ++stats_.timeline_ops[bucket];
    stats_.timeline_bytes[bucket] += bytes;
  }
  if (now >= sh_.ramp_end) {
    auto ns = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - began).count());
    stats_.all.record(ns);
    if (kind == 1) {
      stats_.reads.record(ns);
      stats_.read_bytes += bytes;
    } else if (kind == 2) {
      stats_.writes.record(ns);
      stats_.write_bytes += bytes;
    }
    sh_.progress.ops.fetch_add(1, std::memory_order_relaxed);
    sh_.progress.bytes.fetch_add(bytes, std::memory_order_relaxed);
  }
  // alternate-open: a granted open waits for its break before the next one.
  if (!held_) next(slot);
  // A completion may have freed a block or passed a replay barrier.
  if (!idle_.empty()) {
    std::vector<Slot*> waiting;
    waiting.swap(idle_);
    for (Slot* w : waiting) next(*w);
  }
}

void Job::issue(Slot& slot) {
  auto began = Clock::now();
  switch (o_.workload) {
    case Workload::io:
      return issue_io(slot);
    case Workload::replay:
      return issue_replay(slot);
    case Workload::alternate_open:
      return issue_alternate_open(slot);
    case Workload::echo:
      ++issued_, ++in_flight_;
      return c_.echo_async([this, &slot, began](NtStatus s) { complete(slot, began, 0, 0, s); });
    case Workload::create_close:
    case Workload::open_close:
    case Workload::create_delete: {
      CreateRequest q;
      q.share_access = kFileShareRead | kFileShareWrite | kFileShareDelete;
      q.create_options = kFileNonDirectoryFile;
      std::uint64_t n = cursor_++;
      if (o_.workload == Workload::create_close) {
        q.name = path(prefix() + ".cc" + std::to_string(n % o_.nrfiles));
        q.desired_access = access::GENERIC_WRITE | access::SYNCHRONIZE;
        q.create_disposition = CreateDisposition::FILE_OVERWRITE_IF;
      } else if (o_.workload == Workload::open_close) {
        q.name = files_[n % files_.size()].name;
        q.desired_access = access::GENERIC_READ | access::SYNCHRONIZE;
        q.create_disposition = CreateDisposition::FILE_OPEN;
      } else {
        q.name = path(prefix() + ".cd" + std::to_string(n));
        q.desired_access = access::GENERIC_WRITE | access::DELETE | access::SYNCHRONIZE;
        q.create_disposition = CreateDisposition::FILE_CREATE;
        q.create_options |= kFileDeleteOnClose;
      }
      ++issued_, ++in_flight_;
      return c_.create_async(tree_, q, [this, &slot, began](NtStatus s, const CreateResponse& p) {
        if (s != NtStatus::SUCCESS) return complete(slot, began, 0, 0, s);
        c_.close_async(tree_, p.file_id,
                       [this, &slot, began](NtStatus cs) { complete(slot, began, 0, 0, cs); });
      });
    }
    case Workload::lock: {
      const FileId id = files_.front().id;
      const std::uint64_t at = slot.range;
      ++issued_, ++in_flight_;
      return c_.lock_async(
          tree_, id, {{at, 64, kLockFlagExclusiveLock | kLockFlagFailImmediately}},
          [this, &slot, began, id, at](NtStatus s) {
            if (s != NtStatus::SUCCESS) return complete(slot, began, 0, 0, s);
            c_.lock_async(tree_, id, {{at, 64, kLockFlagUnlock}},
                          [this, &slot, began](NtStatus u) { complete(slot, began, 0, 0, u); });
          });
    }
    case Workload::stat: {
      // As the Linux cifs client stats a path (smb2_query_path_info): an open for
      // FILE_READ_ATTRIBUTES without oplock, the query and the close in one compound.
      CreateRequest c;
      c.desired_access = access::FILE_READ_ATTRIBUTES;
      c.share_access = kFileShareRead | kFileShareWrite | kFileShareDelete;
      c.create_disposition = CreateDisposition::FILE_OPEN;
      c.name = files_[cursor_++ % files_.size()].name;
      QueryInfoRequest q;
      q.info_type = InfoType::SMB2_0_INFO_FILE;
      q.file_info_class = static_cast<std::uint8_t>(fscc::FileInfoClass::FileAllInformation);
      q.output_buffer_length = 4096;
      ++issued_, ++in_flight_;
      return c_.query_path_info_async(tree_, c, q,
                                      [this, &slot, began](NtStatus s, const Bytes& out) {
                                        complete(slot, began, 0, 0, all_information(s, out));
                                      });
    }
    case Workload::fstat: {
      QueryInfoRequest q;
      q.info_type = InfoType::SMB2_0_INFO_FILE;
      q.file_info_class = static_cast<std::uint8_t>(fscc::FileInfoClass::FileAllInformation);
      q.output_buffer_length = 4096;
      q.file_id = files_[cursor_++ % files_.size()].id;
      ++issued_, ++in_flight_;
      return c_.query_info_async(tree_, q, [this, &slot, began](NtStatus s, const Bytes& out) {
        complete(slot, began, 0, 0, all_information(s, out));
      });
    }
    case Workload::setinfo: {
      // FileBasicInformation ([MS-FSCC] 2.4.7) with a new LastWriteTime; zeros elsewhere
      // leave the other fields unchanged.
      SetInfoRequest q;
      q.info_type = InfoType::SMB2_0_INFO_FILE;
      q.file_info_class = static_cast<std::uint8_t>(fscc::FileInfoClass::FileBasicInformation);
      fscc::FileBasicInformation basic;
      basic.last_write_time = 132000000000000000ull + cursor_ * 10000000ull;
      ByteWriter w(q.buffer);
      fscc::encode(basic, w);
      q.file_id = files_[cursor_++ % files_.size()].id;
      ++issued_, ++in_flight_;
      return c_.set_info_async(
          tree_, q, [this, &slot, began](NtStatus s) { complete(slot, began, 0, 0, s); });
    }
    case Workload::readdir: {
      CreateRequest q;
      q.share_access = kFileShareRead | kFileShareWrite | kFileShareDelete;
      q.create_options = kFileDirectoryFile;
      q.name = path(prefix() + ".d");
      q.desired_access =
          access::FILE_LIST_DIRECTORY | access::FILE_READ_ATTRIBUTES | access::SYNCHRONIZE;
      q.create_disposition = CreateDisposition::FILE_OPEN;
      ++issued_, ++in_flight_;
      c_.create_async(tree_, q, [this, &slot, began](NtStatus s, const CreateResponse& p) {
        if (s != NtStatus::SUCCESS) return complete(slot, began, 0, 0, s);
        auto dir = p.file_id;
        auto query = std::make_shared<std::function<void(bool)>>();
        *query = [this, &slot, began, dir, query](bool first) {
          QueryDirectoryRequest qd;
          qd.file_information_class =
              static_cast<std::uint8_t>(fscc::FileInfoClass::FileIdBothDirectoryInformation);
          qd.flags = first ? kRestartScans : 0;
          qd.file_id = dir;
          qd.file_name = "*";
          qd.output_buffer_length = 65536;
          c_.query_directory_async(
              tree_, qd, [this, &slot, began, dir, query](NtStatus s2, const Bytes&) {
                if (s2 == NtStatus::SUCCESS) return (*query)(false);
                auto finish = [this, &slot, began, s2, query](NtStatus cs) {
                  *query = nullptr;  // breaks the self-reference
                  complete(slot, began, 0, 0, s2 == NtStatus::NO_MORE_FILES ? cs : s2);
                };
                c_.close_async(tree_, dir, finish);
              });
        };
        (*query)(true);
      });
      return;
    }
  }
}

void Job::issue_io(Slot& slot) {
  const std::uint64_t blocks = o_.size / o_.bs;
  const bool random =
      o_.rw == RwMode::randread || o_.rw == RwMode::randwrite || o_.rw == RwMode::randrw;
  bool write = o_.rw == RwMode::write || o_.rw == RwMode::randwrite;
  if (o_.rw == RwMode::rw || o_.rw == RwMode::randrw) write = rng_() % 100 >= o_.rwmixread;
  std::size_t fi = 0;
  std::uint64_t block = 0;
  bool found = false;
  // Two requests never touch the same block at once, so what a read must find is known.
  for (std::uint64_t attempt = 0; attempt < blocks * files_.size() && !found; ++attempt) {
    if (random) {
      fi = rng_() % files_.size();
      block = rng_() % blocks;
    } else {
      std::uint64_t c = cursor_++;
      fi = (c / blocks) % files_.size();
      block = c % blocks;
    }
    found = !files_[fi].busy[block];
  }
  if (!found) {
    idle_.push_back(&slot);
    return;
  }
  File& f = files_[fi];
  f.busy[block] = true;
  std::uint64_t offset = block * o_.bs;
  auto began = Clock::now();
  ++issued_, ++in_flight_;
  const bool invalidate = o_.rdma_channel == "v1-invalidate";
  if (write) {
    std::uint32_t gen = f.gen[block] + 1;
    if (o_.verify) pattern(fi).fill(slot.buffer, offset, gen);
    auto written = [this, &slot, began, fi, block, gen](NtStatus s, std::uint32_t count) {
      File& file = files_[fi];
      file.busy[block] = false;
      if (s == NtStatus::SUCCESS && count != o_.bs) {
        fail("short write", s);
        s = NtStatus::UNSUCCESSFUL;
      }
      if (s == NtStatus::SUCCESS)
        file.gen[block] = gen;
      else
        file.gen[block] = 0;  // unknown now: not verified again
      complete(slot, began, s == NtStatus::SUCCESS ? o_.bs : 0, 2, s);
    };
    if (rdma_ != nullptr) {
      // The server RDMA-reads the data from the slot's registered buffer.
      rdma_->write_async(tree_, f.id, offset, o_.bs, region_of(slot), 0, invalidate, written);
      return;
    }
    c_.write_async(tree_, f.id, offset, slot.buffer, written);
  } else {
    if (rdma_ != nullptr) {
      // The server RDMA-writes the data into the slot's registered buffer.
      rdma_->read_async(tree_, f.id, offset, o_.bs, region_of(slot), 0, invalidate,
                        [this, &slot, began, fi, block, offset](NtStatus s, std::uint32_t count) {
                          read_done(slot, began, fi, block, offset, s,
                                    ByteSpan(slot.buffer.data(), std::min<std::size_t>(
                                                                     count, slot.buffer.size())));
                        });
      return;
    }
    c_.read_async(tree_, f.id, offset, o_.bs,
                  [this, &slot, began, fi, block, offset](NtStatus s, ByteSpan data) {
                    read_done(slot, began, fi, block, offset, s, data);
                  });
  }
}

void Job::read_done(Slot& slot, Clock::time_point began, std::size_t fi, std::uint64_t block,
                    std::uint64_t offset, NtStatus s, ByteSpan data) {
  File& file = files_[fi];
  file.busy[block] = false;
  if (s == NtStatus::SUCCESS && o_.verify && file.gen[block] != 0) {
    Pattern::Check c = pattern(fi).verify(data, offset, file.gen[block], o_.size);
    if (data.size() != o_.bs) {
      c.ok = false;
      c.diagnosis = "short read of " + std::to_string(data.size()) + " bytes";
    }
    stats_.verified_bytes += data.size();
    if (!c.ok) {
      ++stats_.verify_failures;
      stats_.note("verify " + file.name + ": " + c.diagnosis);
    }
  }
  complete(slot, began, s == NtStatus::SUCCESS ? data.size() : 0, 1, s);
}

void Job::issue_replay(Slot& slot) {
  const ReplayOp& op = sh_.replay[cursor_ % sh_.replay.size()];
  // Reads and writes overlap up to iodepth; anything else waits for the queue to drain.
  const bool data = op.kind == ReplayOp::read || op.kind == ReplayOp::write;
  if (in_flight_ > 0 && !data) {
    idle_.push_back(&slot);
    return;
  }
  ++cursor_;
  auto began = Clock::now();
  auto handle = [&]() -> FileId {
    std::string name = path(prefix() + "." + op.file);
    for (const File& f : files_)
      if (f.name == name) return f.id;
    return {};
  };
  ++issued_, ++in_flight_;
  switch (op.kind) {
    case ReplayOp::read:
      return c_.read_async(
          tree_, handle(), op.offset, op.length, [this, &slot, began](NtStatus s, ByteSpan d) {
            complete(slot, began, d.size(), 1, s == NtStatus::END_OF_FILE ? NtStatus::SUCCESS : s);
          });
    case ReplayOp::write:
      return c_.write_async(
          tree_, handle(), op.offset, ByteSpan(slot.buffer).first(op.length),
          [this, &slot, began](NtStatus s, std::uint32_t n) { complete(slot, began, n, 2, s); });
    case ReplayOp::stat: {
      QueryInfoRequest q;
      q.file_info_class = static_cast<std::uint8_t>(fscc::FileInfoClass::FileAllInformation);
      q.output_buffer_length = 4096;
      q.file_id = handle();
      return c_.query_info_async(tree_, q, [this, &slot, began](NtStatus s, const Bytes& out) {
        complete(slot, began, 0, 0, all_information(s, out));
      });
    }
    case ReplayOp::flush:
      return c_.flush_async(tree_, handle(),
                            [this, &slot, began](NtStatus s) { complete(slot, began, 0, 0, s); });
    case ReplayOp::echo:
      return c_.echo_async([this, &slot, began](NtStatus s) { complete(slot, began, 0, 0, s); });
    case ReplayOp::create:
    case ReplayOp::remove: {
      CreateRequest q;
      q.share_access = kFileShareRead | kFileShareWrite | kFileShareDelete;
      q.name = path(prefix() + "." + op.file);
      q.create_options = kFileNonDirectoryFile;
      if (op.kind == ReplayOp::create) {
        q.desired_access = access::GENERIC_WRITE | access::SYNCHRONIZE;
        q.create_disposition = CreateDisposition::FILE_OVERWRITE_IF;
      } else {
        q.desired_access = access::DELETE | access::SYNCHRONIZE;
        q.create_disposition = CreateDisposition::FILE_OPEN;
        q.create_options |= kFileDeleteOnClose;
      }
      return c_.create_async(tree_, q, [this, &slot, began](NtStatus s, const CreateResponse& p) {
        if (s != NtStatus::SUCCESS) return complete(slot, began, 0, 0, s);
        c_.close_async(tree_, p.file_id,
                       [this, &slot, began](NtStatus cs) { complete(slot, began, 0, 0, cs); });
      });
    }
  }
}

void Job::stop() {
  stopping_ = true;
  if (held_ && !releasing_) release_held();
}

void Job::issue_alternate_open(Slot& slot) {
  CreateRequest q;
  q.name = alternate_file();
  q.desired_access = access::GENERIC_READ | access::GENERIC_WRITE | access::SYNCHRONIZE;
  q.share_access = 0;  // every other job's open conflicts: its holder must let go
  q.create_disposition = CreateDisposition::FILE_OPEN_IF;
  q.create_options = kFileNonDirectoryFile;
  if (c_.dialect() >= 0x0210) {
    LeaseContext lease;
    lease.v2 = c_.dialect() >= 0x0300;
    lease.lease_key = lease_key_;
    lease.lease_state = kLeaseReadCaching | kLeaseHandleCaching | kLeaseWriteCaching;
    q.requested_oplock_level = OplockLevel::LEASE;
    q.contexts.push_back(to_context(lease));
  } else {
    q.requested_oplock_level = OplockLevel::BATCH;
  }
  auto began = Clock::now();
  opening_ = true;
  broken_early_ = false;
  ++issued_, ++in_flight_;
  c_.create_async(tree_, q, [this, &slot, began](NtStatus s, const CreateResponse& p) {
    opened(slot, began, s, p);
  });
}

void Job::opened(Slot& slot, Clock::time_point began, NtStatus s, const CreateResponse& p) {
  opening_ = false;
  if (s == NtStatus::SUCCESS) {
    held_ = p.file_id;
    // The open counts when granted; it is given up at once when nothing will break it
    // (the run ends) or when its break already came.
    const bool last = stopping_ || (op_limit_ != 0 && issued_ >= op_limit_);
    complete(slot, began, 0, 0, s);  // issues nothing: next() waits for the break
    if (last || broken_early_) release_held();
    return;
  }
  complete(slot, began, 0, 0, s);
}

void Job::release_held() {
  releasing_ = true;
  const FileId id = *held_;
  // Closing the lease's only open answers its break: the server waits for an
  // acknowledgment or for the opens of the lease to close, and an acknowledgment sent
  // first would let the waiting open run into this one (SHARING_VIOLATION).
  ++in_flight_;
  c_.close_async(tree_, id, [this](NtStatus s) {
    --in_flight_;
    held_.reset();
    releasing_ = false;
    if (s != NtStatus::SUCCESS) fail("close after a break", s);
    next(*slots_.front());
  });
}

bool Job::on_break(const Connection::Break& b) {
  if (o_.workload != Workload::alternate_open) return false;
  if (b.kind == OplockBreakKind::LEASE_NOTIFICATION) {
    if (b.lease.lease_key != lease_key_) return false;
    if (held_ && !releasing_)
      release_held();
    else if (opening_)
      broken_early_ = true;
    return true;
  }
  if (b.kind == OplockBreakKind::OPLOCK && held_ && b.oplock.file_id == *held_) {
    // Closing is this client's answer to an oplock break (MS-SMB2 3.2.5.19.1).
    if (!releasing_) release_held();
    return true;
  }
  return false;
}

// With --verify, every block is read back once more after the run, so that a write no
// read checked during the run is still checked.
void Job::final_verify() {
  if (!o_.verify || o_.workload != Workload::io) return;
  if (rdma_ != nullptr && !slots_.empty()) {
    // Through the RDMA channel too, one block at a time in the first slot's buffer (the
    // blocks may be larger than an inline READ).
    Slot& slot = *slots_.front();
    for (std::size_t fi = 0; fi < files_.size(); ++fi) {
      File& f = files_[fi];
      for (std::uint64_t b = 0; b < f.gen.size(); ++b) {
        if (f.gen[b] == 0) continue;
        std::uint32_t count = 0;
        NtStatus s = rdma_->read(tree_, f.id, b * o_.bs, o_.bs, region_of(slot), 0,
                                 o_.rdma_channel == "v1-invalidate", count);
        if (s != NtStatus::SUCCESS) {
          fail("verify read failed", s);
          continue;
        }
        ByteSpan data(slot.buffer.data(), std::min<std::size_t>(count, slot.buffer.size()));
        Pattern::Check c = pattern(fi).verify(data, b * o_.bs, f.gen[b], o_.size);
        if (data.size() != o_.bs) {
          c.ok = false;
          c.diagnosis = "short read";
        }
        stats_.verified_bytes += data.size();
        if (!c.ok) {
          ++stats_.verify_failures;
          stats_.note("verify " + f.name + ": " + c.diagnosis);
        }
      }
    }
    return;
  }
  for (std::size_t fi = 0; fi < files_.size(); ++fi) {
    File& f = files_[fi];
    std::uint64_t blocks = f.gen.size();
    std::uint64_t block = 0;
    unsigned outstanding = 0;
    while (block < blocks || outstanding > 0) {
      while (block < blocks && outstanding < 16) {
        std::uint64_t b = block++;
        if (f.gen[b] == 0) continue;
        ++outstanding;
        c_.read_async(tree_, f.id, b * o_.bs, o_.bs,
                      [this, &f, fi, b, &outstanding](NtStatus s, ByteSpan data) {
                        --outstanding;
                        if (s != NtStatus::SUCCESS) return fail("verify read failed", s);
                        Pattern::Check c = pattern(fi).verify(data, b * o_.bs, f.gen[b], o_.size);
                        if (data.size() != o_.bs) {
                          c.ok = false;
                          c.diagnosis = "short read";
                        }
                        stats_.verified_bytes += data.size();
                        if (!c.ok) {
                          ++stats_.verify_failures;
                          stats_.note("verify " + f.name + ": " + c.diagnosis);
                        }
                      });
      }
      c_.wait_until([&] { return block < blocks ? outstanding < 16 : outstanding == 0; });
    }
  }
}

void Job::cleanup() {
  const bool open_handles = o_.workload != Workload::open_close && o_.workload != Workload::stat;
  for (File& f : files_) {
    if (open_handles) {
      if (!o_.keep) c_.set_delete_on_close(tree_, f.id, true);
      c_.close(tree_, f.id);
    } else if (!o_.keep) {
      FileId id;
      if (open_file(f.name, access::DELETE, CreateDisposition::FILE_OPEN, kFileDeleteOnClose, id) ==
          NtStatus::SUCCESS)
        c_.close(tree_, id);
    }
  }
  if (o_.keep) return;
  auto remove = [&](const std::string& name, std::uint32_t options) {
    FileId id;
    if (open_file(name, access::DELETE, CreateDisposition::FILE_OPEN, options | kFileDeleteOnClose,
                  id) == NtStatus::SUCCESS)
      c_.close(tree_, id);
  };
  if (o_.workload == Workload::create_close)
    for (unsigned i = 0; i < o_.nrfiles; ++i)
      remove(path(prefix() + ".cc" + std::to_string(i)), kFileNonDirectoryFile);
  if (o_.workload == Workload::readdir) {
    std::string dir = path(prefix() + ".d");
    for (unsigned i = 0; i < o_.nrfiles; ++i)
      remove(dir + "\\e" + std::to_string(i), kFileNonDirectoryFile);
    remove(dir, kFileDirectoryFile);
  }
  if (o_.workload == Workload::replay)
    for (const ReplayOp& op : sh_.replay)
      if (op.kind == ReplayOp::create) remove(path(prefix() + "." + op.file), 0);
  if (o_.workload == Workload::alternate_open && index_ == 0)
    remove(alternate_file(), kFileNonDirectoryFile);
}

// The completion step of a barrier: runs once when every thread has arrived.
struct Phase {
  std::function<void()> step;
  void operator()() noexcept { step(); }
};
using Barrier = std::barrier<Phase>;

double seconds_of(const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; }

void connection_thread(Shared& sh, unsigned index, Barrier& ready, Barrier& done, Stats& out) {
  const BenchOptions& o = sh.o;
  bool arrived = false, finished = false, bound = false, released = false;
  // A channel bound to another's session tells it when it no longer uses the session.
  auto release = [&] {
    if (!o.multichannel || index == 0 || released) return;
    released = true;
    std::lock_guard lock(sh.mutex);
    if (!bound) ++sh.others_bound;  // given up before binding
    ++sh.others_done;
    sh.changed.notify_all();
  };
  try {
    client::Options co;
    co.min_dialect = o.min_dialect;
    co.max_dialect = o.max_dialect;
    co.sign = o.sign;
    if (o.encrypt) {
      co.encrypt = true;
      co.ciphers = {*o.encrypt};
    }
    co.target_credits = std::max(512u, o.iodepth * 4 * (o.jobs / sh.channels + 1));
    if (o.multichannel) co.client_guid = sh.client_guid;  // channels of one client
    // The --multichannel SMB Direct channels come after the --connections ones.
    const bool extra_rdma = index >= o.connections;
    // Over SMB Direct the SMB2 connection is the RdmaClient's; it lives as long as c.
    std::unique_ptr<client::RdmaClient> rdma;
    std::unique_ptr<Connection> tcp;
    if (o.transport == "rdma" || extra_rdma) {
      client::RdmaOptions ro;
      ro.fabric = o.rdma_fabric == "soft" ? client::FabricKind::soft : client::FabricKind::verbs;
      rdma = client::RdmaClient::connect(o.host, extra_rdma ? o.rdma_port : o.port, co, ro);
    } else {
      tcp = Connection::connect(o.host, o.port, co);
    }
    Connection* c = rdma ? &rdma->smb() : tcp.get();
    auth::ClientCredentials cred;
    cred.user = o.user;
    cred.domain = o.domain;
    cred.password = o.password;
    const bool primary = !o.multichannel || index == 0;
    std::uint64_t sid = 0;
    Tree tree;
    if (primary) {
      sid = c->session_setup(cred);
      tree = c->tree_connect(sid, "\\\\" + o.host + "\\" + o.share);
      if (o.multichannel) {
        // The others bind to this session; nothing else uses c until they have.
        std::unique_lock lock(sh.mutex);
        sh.primary = c;
        sh.session_id = sid;
        sh.tree = tree;
        sh.changed.notify_all();
        sh.changed.wait(lock, [&] {
          return sh.others_bound == sh.channels - 1 || sh.progress.abort.load();
        });
      }
    } else {
      std::unique_lock lock(sh.mutex);
      sh.changed.wait(lock, [&] { return sh.primary != nullptr || sh.progress.abort.load(); });
      if (sh.primary == nullptr) throw std::runtime_error("the first channel failed");
      // MS-SMB2 3.2.4.2.3 (session binding): signed with the session's keys.
      c->bind_session(*sh.primary, sh.session_id, cred);
      sid = sh.session_id;
      tree = sh.tree;
      ++sh.others_bound;
      bound = true;
      sh.changed.notify_all();
    }
    std::uint32_t io_max = std::min(c->max_read_size(), c->max_write_size());
    const bool rdma_channels = rdma && o.rdma_channel != "inline";
    if (rdma_channels) {
      // One RDMA transfer moves at most MaxReadWriteSize ([MS-SMBD] 3.1.1.1).
      io_max = std::min(io_max, rdma->negotiated().max_read_write_size);
    } else if (rdma) {
      // Inline over SMB Direct a READ response or WRITE request is one fragmented message
      // ([MS-SMBD] 3.1.5.3): leave room for the SMB2 and transform headers.
      auto n = rdma->negotiated();
      std::uint32_t inline_max = std::min(n.max_fragmented_send_size, n.max_fragmented_recv_size);
      io_max = std::min(io_max, inline_max > 8192 ? (inline_max - 4096) & ~4095u : 4096u);
    }
    if (o.workload == Workload::io && o.bs > io_max)
      throw client::Error(NtStatus::INVALID_PARAMETER,
                          "--bs is larger than the maximum read/write size " +
                              std::to_string(io_max) +
                              (rdma_channels ? " (SMB Direct MaxReadWriteSize)"
                               : rdma        ? " (inline over SMB Direct)"
                                             : ""));
    if (index == 0) {
      std::lock_guard lock(sh.mutex);
      sh.dialect = dialect_name(c->dialect());
      bool encrypting = c->session_encrypts(sid) || tree.encrypt;
      sh.encryption = encrypting && c->cipher() ? cipher_name(*c->cipher()) : "none";
      const char* alg = c->signing_algorithm() == crypto::SigningAlgorithm::AES_GMAC ? "AES-GMAC"
                        : c->signing_algorithm() == crypto::SigningAlgorithm::AES_CMAC
                            ? "AES-CMAC"
                            : "HMAC-SHA256";
      sh.signing = c->session_signs(sid) && !encrypting ? alg : "none";
    }
    FileId dir;
    NtStatus s = c->open(tree, o.directory, access::GENERIC_READ | access::GENERIC_WRITE,
                         CreateDisposition::FILE_OPEN_IF, kFileDirectoryFile, dir);
    if (s != NtStatus::SUCCESS) throw client::Error(s, "cannot create directory " + o.directory);
    c->close(tree, dir);

    std::vector<std::unique_ptr<Job>> jobs;
    for (unsigned j = index; j < o.jobs; j += sh.channels) {
      std::uint64_t limit = 0;
      if (o.ops != 0) limit = o.ops / o.jobs + (j < o.ops % o.jobs ? 1 : 0);
      jobs.push_back(std::make_unique<Job>(sh, *c, rdma_channels ? rdma.get() : nullptr, io_max,
                                           tree, j, limit));
      jobs.back()->setup();
    }
    c->on_break([&jobs](const Connection::Break& b) {
      for (auto& j : jobs)
        if (j->on_break(b)) return;
    });
    arrived = true;
    ready.arrive_and_wait();
    for (auto& j : jobs) j->start();
    bool stopped = false;
    auto busy = [&] {
      return std::any_of(jobs.begin(), jobs.end(), [](const auto& j) { return j->active(); });
    };
    while (busy()) {
      c->poll(20);
      if (!stopped && ((sh.timed && Clock::now() >= sh.end) || sh.progress.abort.load())) {
        for (auto& j : jobs) j->stop();
        stopped = true;
      }
    }
    c->on_break(nullptr);
    finished = true;
    done.arrive_and_wait();
    for (auto& j : jobs) {
      j->final_verify();
      j->cleanup();
      out.merge(j->stats());
    }
    if (!primary) {
      // The session and its tree are the first channel's.
      release();
      return;
    }
    if (o.multichannel) {
      std::unique_lock lock(sh.mutex);
      sh.changed.wait(lock, [&] { return sh.others_done == sh.channels - 1; });
    }
    if (index == 0 && !o.keep) {
      // Removed when empty; other connections may still be cleaning up.
      for (int attempt = 0; attempt < 50; ++attempt) {
        FileId id;
        NtStatus ds = c->open(tree, o.directory, access::DELETE, CreateDisposition::FILE_OPEN,
                              kFileDirectoryFile | kFileDeleteOnClose, id);
        if (ds == NtStatus::SUCCESS) ds = c->close(tree, id);
        if (ds != NtStatus::DIRECTORY_NOT_EMPTY) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    c->tree_disconnect(tree);
    c->logoff(sid);
  } catch (const std::exception& e) {
    {
      std::lock_guard lock(sh.mutex);
      if (sh.failure.empty()) sh.failure = "connection " + std::to_string(index) + ": " + e.what();
    }
    {
      std::lock_guard lock(sh.mutex);
      sh.progress.abort = true;
      sh.changed.notify_all();
    }
    if (!arrived) ready.arrive_and_drop();
    if (!finished) done.arrive_and_drop();
    release();
  }
}

}  // namespace

RunResult run_benchmark(const BenchOptions& o, Progress& progress) {
  RunResult result;
  Shared sh{o, progress, {}, {}, {}, {}, false, {}, {}, {}, {}, {}};
  if (o.workload == Workload::replay) {
    std::string error;
    sh.replay = load_replay(o.replay_file, error);
    if (!error.empty()) {
      result.failure = error;
      return result;
    }
  }
  // Multi-channel: every channel is connected, also where there are fewer jobs.
  unsigned n = o.multichannel ? o.channels() : std::min(o.connections, std::max(1u, o.jobs));
  sh.channels = n;
  if (o.multichannel) {
    std::random_device random;
    for (auto& byte : sh.client_guid) byte = static_cast<std::uint8_t>(random());
  }
  std::vector<Stats> stats(n);
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  Barrier ready(static_cast<std::ptrdiff_t>(n) + 1, Phase{[&] {
                  sh.start = Clock::now();
                  sh.ramp_end = sh.start + std::chrono::duration_cast<Clock::duration>(
                                               std::chrono::duration<double>(o.ramp));
                  sh.timed = o.runtime > 0;
                  sh.end = sh.ramp_end + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(o.runtime));
                  progress.running = true;
                }});
  Clock::time_point finished_at;
  Barrier done(static_cast<std::ptrdiff_t>(n) + 1, Phase{[&] {
                 finished_at = Clock::now();
                 progress.running = false;
               }});
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < n; ++i)
    threads.emplace_back([&, i] { connection_thread(sh, i, ready, done, stats[i]); });
  ready.arrive_and_wait();
  rusage start_usage{};
  getrusage(RUSAGE_SELF, &start_usage);
  done.arrive_and_wait();
  rusage end_usage{};
  getrusage(RUSAGE_SELF, &end_usage);
  for (auto& t : threads) t.join();
  (void)before;
  for (auto& s : stats) result.stats.merge(s);
  result.seconds = std::chrono::duration<double>(finished_at - sh.ramp_end).count();
  result.window_start = std::chrono::duration<double>(sh.ramp_end.time_since_epoch()).count();
  result.window_end = std::chrono::duration<double>(finished_at.time_since_epoch()).count();
  result.cpu_user = seconds_of(end_usage.ru_utime) - seconds_of(start_usage.ru_utime);
  result.cpu_system = seconds_of(end_usage.ru_stime) - seconds_of(start_usage.ru_stime);
  result.dialect = sh.dialect;
  result.signing = sh.signing;
  result.encryption = sh.encryption;
  result.failure = sh.failure;
  return result;
}

}  // namespace smb::bench
