#include "rdmaproxy/fabric/verbs_fabric.hh"

#include <fcntl.h>
#include <infiniband/verbs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <rdma/rdma_cma.h>
#include <sys/epoll.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <set>
#include <unordered_map>

#include "smbd/base/unique_fd.hh"

namespace smb::fabric {
namespace {

constexpr int kResolveTimeoutMs = 2000;
constexpr int kCqPoll = 32;

struct EventChannelDeleter {
  void operator()(rdma_event_channel* c) const { rdma_destroy_event_channel(c); }
};
struct CmIdDeleter {
  void operator()(rdma_cm_id* id) const {
    if (id->qp != nullptr) rdma_destroy_qp(id);
    rdma_destroy_id(id);
  }
};
struct PdDeleter {
  void operator()(ibv_pd* pd) const { ibv_dealloc_pd(pd); }
};
struct CompChannelDeleter {
  void operator()(ibv_comp_channel* c) const { ibv_destroy_comp_channel(c); }
};
struct CqDeleter {
  void operator()(ibv_cq* cq) const { ibv_destroy_cq(cq); }
};
struct MrDeleter {
  void operator()(ibv_mr* mr) const { ibv_dereg_mr(mr); }
};
struct MwDeleter {
  void operator()(ibv_mw* mw) const { ibv_dealloc_mw(mw); }
};
struct AddrInfoDeleter {
  void operator()(addrinfo* ai) const { ::freeaddrinfo(ai); }
};

using EventChannelPtr = std::unique_ptr<rdma_event_channel, EventChannelDeleter>;
using CmIdPtr = std::unique_ptr<rdma_cm_id, CmIdDeleter>;
using PdPtr = std::shared_ptr<ibv_pd>;
using CompChannelPtr = std::unique_ptr<ibv_comp_channel, CompChannelDeleter>;
using CqPtr = std::unique_ptr<ibv_cq, CqDeleter>;
using MrPtr = std::unique_ptr<ibv_mr, MrDeleter>;
using MwPtr = std::unique_ptr<ibv_mw, MwDeleter>;

// wr_id of memory window binds: not reported to the engine.
constexpr std::uint64_t kBindWrId = ~std::uint64_t{0};

// Keys of this connection's windows a peer invalidated (send-with-invalidate), shared by
// the queue pair that sees the invalidation and the regions that report it.
using InvalidatedKeys = std::shared_ptr<std::set<std::uint32_t>>;

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

std::unique_ptr<addrinfo, AddrInfoDeleter> resolve(const std::string& address, std::uint16_t port,
                                                   bool passive, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  if (int rc =
          ::getaddrinfo(address.empty() ? nullptr : address.c_str(), service.c_str(), &hints, &res);
      rc != 0) {
    error = std::string("getaddrinfo: ") + ::gai_strerror(rc);
    return nullptr;
  }
  return std::unique_ptr<addrinfo, AddrInfoDeleter>(res);
}

Status map_wc_status(ibv_wc_status s) {
  switch (s) {
    case IBV_WC_SUCCESS:
      return Status::success;
    case IBV_WC_WR_FLUSH_ERR:
      return Status::flushed;
    case IBV_WC_LOC_LEN_ERR:
      return Status::local_length_error;
    case IBV_WC_LOC_PROT_ERR:
      return Status::local_protection_error;
    case IBV_WC_REM_ACCESS_ERR:
      return Status::remote_access_error;
    case IBV_WC_REM_INV_REQ_ERR:
      return Status::remote_invalid_request;
    case IBV_WC_RNR_RETRY_EXC_ERR:
      return Status::receiver_not_ready;
    default:
      return Status::transport_error;
  }
}

int access_flags(Access a) {
  int flags = IBV_ACCESS_LOCAL_WRITE;
  if (static_cast<unsigned>(a) & static_cast<unsigned>(Access::remote_read))
    flags |= IBV_ACCESS_REMOTE_READ;
  if (static_cast<unsigned>(a) & static_cast<unsigned>(Access::remote_write))
    flags |= IBV_ACCESS_REMOTE_WRITE;
  return flags;
}

// Remote access goes through a type 2 memory window bound to the registration when the
// device has them: a peer's send-with-invalidate may invalidate a window, never a plain
// registration (rxe, like hardware, breaks the connection on that). The window's key is
// the remote token.
class VerbsMemoryRegion final : public MemoryRegion {
 public:
  VerbsMemoryRegion(PdPtr pd, MrPtr mr, MwPtr mw, std::uint32_t mw_rkey,
                    InvalidatedKeys invalidated, std::span<std::uint8_t> span, Access access)
      : MemoryRegion(span, access),
        pd_(std::move(pd)),
        mr_(std::move(mr)),
        mw_(std::move(mw)),
        invalidated_(std::move(invalidated)) {
    local_key_ = mr_->lkey;
    remote_token_ = mw_ ? mw_rkey : mr_->rkey;
    remote_base_ = reinterpret_cast<std::uintptr_t>(span.data());
    if (mw_) invalidated_->erase(remote_token_);  // a key of a window that is gone
  }
  ~VerbsMemoryRegion() override {
    if (mw_) invalidated_->erase(remote_token_);
  }
  bool valid() const override {
    return mr_ != nullptr && !(mw_ && invalidated_->contains(remote_token_));
  }
  void invalidate() {
    mw_.reset();
    mr_.reset();
  }
  const ibv_pd* pd() const { return pd_.get(); }

 private:
  PdPtr pd_;  // declared first: the registration is released before its domain
  MrPtr mr_;
  MwPtr mw_;  // released before the registration it is bound to
  InvalidatedKeys invalidated_;
};

class VerbsQueuePair final : public QueuePair {
 public:
  enum class State { resolving, pending, connecting, connected, broken };

  // Initiator: starts address resolution.
  VerbsQueuePair(EventChannelPtr channel, CmIdPtr id, const QueuePairConfig& config)
      : channel_(std::move(channel)),
        id_(std::move(id)),
        config_(config),
        state_(State::resolving) {
    init_epoll();
  }

  // Passive side: the id of a connect request, already on its own channel.
  VerbsQueuePair(EventChannelPtr channel, CmIdPtr id, const QueuePairConfig& config,
                 std::string& error)
      : channel_(std::move(channel)), id_(std::move(id)), config_(config), state_(State::pending) {
    init_epoll();
    if (!create_resources(error)) state_ = State::broken;
  }

  ~VerbsQueuePair() override {
    // The queue pair goes before the completion queue it reports to.
    if (id_ && id_->qp != nullptr) rdma_destroy_qp(id_.get());
  }

  bool usable() const { return state_ != State::broken; }
  int fd() const override { return epoll_.get(); }
  bool connected() const override { return state_ == State::connected; }

  Status accept() override {
    if (state_ != State::pending) return Status::not_connected;
    rdma_conn_param param{};
    param.responder_resources = config_.rdma_read_depth;
    param.initiator_depth = config_.rdma_read_depth;
    param.retry_count = 6;
    param.rnr_retry_count = 0;
    if (rdma_accept(id_.get(), &param) != 0) return Status::transport_error;
    state_ = State::connecting;
    return Status::success;
  }

  std::unique_ptr<MemoryRegion> register_memory(std::span<std::uint8_t> memory, Access access,
                                                std::string& error) override {
    if (!pd_) {
      error = "no protection domain yet";
      return nullptr;
    }
    int flags = access_flags(access);
    bool remote = access != Access::local;
    MrPtr mr(ibv_reg_mr(pd_.get(), memory.data(), memory.size(),
                        remote ? flags | IBV_ACCESS_MW_BIND : flags));
    bool bindable = mr != nullptr && remote;
    if (!mr && remote) mr.reset(ibv_reg_mr(pd_.get(), memory.data(), memory.size(), flags));
    if (!mr) {
      error = std::string("ibv_reg_mr: ") + std::strerror(errno);
      return nullptr;
    }
    MwPtr mw;
    std::uint32_t rkey = 0;
    if (bindable && state_ == State::connected && id_->qp != nullptr)
      mw = bind_window(*mr, memory, flags & ~IBV_ACCESS_LOCAL_WRITE, rkey);
    return std::make_unique<VerbsMemoryRegion>(pd_, std::move(mr), std::move(mw), rkey,
                                               invalidated_, memory, access);
  }

  Status invalidate(MemoryRegion& region) override {
    auto* verbs = dynamic_cast<VerbsMemoryRegion*>(&region);
    if (verbs == nullptr || verbs->pd() != pd_.get()) return Status::invalid_argument;
    verbs->invalidate();
    return Status::success;
  }

  Status post_recv(std::uint64_t wr_id, LocalBuffer buffer) override {
    if (!id_->qp || state_ == State::broken) return Status::not_connected;
    ibv_sge sge{};
    if (Status s = make_sge(buffer, sge); s != Status::success) return s;
    ibv_recv_wr wr{};
    wr.wr_id = track(wr_id, CompletionKind::recv);
    wr.sg_list = &sge;
    wr.num_sge = 1;
    ibv_recv_wr* bad = nullptr;
    if (ibv_post_recv(id_->qp, &wr, &bad) != 0) return untrack(wr.wr_id);
    return Status::success;
  }

  Status post_send(std::uint64_t wr_id, LocalBuffer buffer,
                   std::optional<std::uint32_t> invalidate_token) override {
    ibv_send_wr wr{};
    if (invalidate_token) {
      wr.opcode = IBV_WR_SEND_WITH_INV;
      wr.invalidate_rkey = *invalidate_token;
    } else {
      wr.opcode = IBV_WR_SEND;
    }
    return post(wr, wr_id, CompletionKind::send, buffer, nullptr);
  }

  Status post_rdma_write(std::uint64_t wr_id, LocalBuffer source,
                         BufferDescriptorV1 target) override {
    if (source.length != target.length) return Status::invalid_argument;
    ibv_send_wr wr{};
    wr.opcode = IBV_WR_RDMA_WRITE;
    return post(wr, wr_id, CompletionKind::rdma_write, source, &target);
  }

  Status post_rdma_read(std::uint64_t wr_id, LocalBuffer target,
                        BufferDescriptorV1 source) override {
    if (target.length != source.length) return Status::invalid_argument;
    ibv_send_wr wr{};
    wr.opcode = IBV_WR_RDMA_READ;
    return post(wr, wr_id, CompletionKind::rdma_read, target, &source);
  }

  std::size_t poll(std::span<Completion> out) override {
    drain_cm_events();
    drain_cq();
    std::size_t n = 0;
    while (n < out.size() && !ready_.empty()) {
      out[n++] = ready_.front();
      ready_.pop_front();
    }
    return n;
  }

  void disconnect() override {
    if (state_ == State::connected || state_ == State::connecting) rdma_disconnect(id_.get());
  }

 private:
  struct Tracked {
    std::uint64_t wr_id;
    CompletionKind kind;
  };

  void init_epoll() {
    epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    set_nonblocking(channel_->fd);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = channel_->fd;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, channel_->fd, &ev);
  }

  bool create_resources(std::string& error) {
    ibv_context* verbs = id_->verbs;
    if (verbs == nullptr) {
      error = "no device for the connection";
      return false;
    }
    pd_ = PdPtr(ibv_alloc_pd(verbs), PdDeleter{});
    if (!pd_) {
      error = "ibv_alloc_pd failed";
      return false;
    }
    comp_channel_.reset(ibv_create_comp_channel(verbs));
    if (!comp_channel_) {
      error = "ibv_create_comp_channel failed";
      return false;
    }
    set_nonblocking(comp_channel_->fd);
    int cqe = static_cast<int>(config_.max_send_wr + config_.max_recv_wr);
    cq_.reset(ibv_create_cq(verbs, cqe, nullptr, comp_channel_.get(), 0));
    if (!cq_ || ibv_req_notify_cq(cq_.get(), 0) != 0) {
      error = "ibv_create_cq failed";
      return false;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = comp_channel_->fd;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, comp_channel_->fd, &ev);

    ibv_qp_init_attr attr{};
    attr.send_cq = cq_.get();
    attr.recv_cq = cq_.get();
    attr.qp_type = IBV_QPT_RC;
    attr.cap.max_send_wr = config_.max_send_wr;
    attr.cap.max_recv_wr = config_.max_recv_wr;
    attr.cap.max_send_sge = 1;
    attr.cap.max_recv_sge = 1;
    attr.sq_sig_all = 1;
    if (rdma_create_qp(id_.get(), pd_.get(), &attr) != 0) {
      error = std::string("rdma_create_qp: ") + std::strerror(errno);
      return false;
    }
    return true;
  }

  // A type 2 window over `memory` with `access`, bound by a work request on this queue
  // pair: every later send (the request naming its key) goes out after the bind. Null
  // when the device has no windows; the registration's own key serves then.
  MwPtr bind_window(ibv_mr& mr, std::span<std::uint8_t> memory, int access, std::uint32_t& rkey) {
    MwPtr mw(ibv_alloc_mw(pd_.get(), IBV_MW_TYPE_2));
    if (!mw) return nullptr;
    ibv_send_wr wr{};
    wr.wr_id = kBindWrId;
    wr.opcode = IBV_WR_BIND_MW;
    wr.send_flags = IBV_SEND_SIGNALED;
    wr.bind_mw.mw = mw.get();
    wr.bind_mw.rkey = ibv_inc_rkey(mw->rkey);
    wr.bind_mw.bind_info.mr = &mr;
    wr.bind_mw.bind_info.addr = reinterpret_cast<std::uintptr_t>(memory.data());
    wr.bind_mw.bind_info.length = memory.size();
    wr.bind_mw.bind_info.mw_access_flags = static_cast<unsigned>(access);
    ibv_send_wr* bad = nullptr;
    if (ibv_post_send(id_->qp, &wr, &bad) != 0) return nullptr;
    rkey = wr.bind_mw.rkey;
    return mw;
  }

  Status make_sge(const LocalBuffer& b, ibv_sge& sge) const {
    auto* verbs = dynamic_cast<const VerbsMemoryRegion*>(b.region);
    if (verbs == nullptr || verbs->pd() != pd_.get() || !verbs->valid() ||
        b.offset > verbs->span().size() || b.length > verbs->span().size() - b.offset ||
        b.length > 0x7FFFFFFFu)
      return Status::local_protection_error;
    sge.addr = reinterpret_cast<std::uintptr_t>(verbs->span().data() + b.offset);
    sge.length = static_cast<std::uint32_t>(b.length);
    sge.lkey = verbs->local_key();
    return Status::success;
  }

  std::uint64_t track(std::uint64_t wr_id, CompletionKind kind) {
    std::uint64_t key = next_key_++;
    tracked_.emplace(key, Tracked{wr_id, kind});
    return key;
  }
  Status untrack(std::uint64_t key) {
    tracked_.erase(key);
    return Status::transport_error;
  }

  Status post(ibv_send_wr& wr, std::uint64_t wr_id, CompletionKind kind, const LocalBuffer& local,
              const BufferDescriptorV1* remote) {
    if (state_ != State::connected) return Status::not_connected;
    ibv_sge sge{};
    if (Status s = make_sge(local, sge); s != Status::success) return s;
    wr.wr_id = track(wr_id, kind);
    wr.sg_list = &sge;
    wr.num_sge = 1;
    wr.send_flags = IBV_SEND_SIGNALED;
    if (remote != nullptr) {
      wr.wr.rdma.remote_addr = remote->offset;
      wr.wr.rdma.rkey = remote->token;
    }
    ibv_send_wr* bad = nullptr;
    if (ibv_post_send(id_->qp, &wr, &bad) != 0) return untrack(wr.wr_id);
    return Status::success;
  }

  void drain_cm_events() {
    rdma_cm_event* event = nullptr;
    while (rdma_get_cm_event(channel_.get(), &event) == 0) {
      rdma_cm_event_type type = event->event;
      int status = event->status;
      rdma_ack_cm_event(event);
      handle_cm_event(type, status);
    }
  }

  void handle_cm_event(rdma_cm_event_type type, int status) {
    switch (type) {
      case RDMA_CM_EVENT_ADDR_RESOLVED:
        if (rdma_resolve_route(id_.get(), kResolveTimeoutMs) != 0) broken(Status::transport_error);
        return;
      case RDMA_CM_EVENT_ROUTE_RESOLVED: {
        std::string error;
        if (!create_resources(error)) return broken(Status::transport_error);
        rdma_conn_param param{};
        param.responder_resources = config_.rdma_read_depth;
        param.initiator_depth = config_.rdma_read_depth;
        param.retry_count = 6;
        param.rnr_retry_count = 0;
        if (rdma_connect(id_.get(), &param) != 0) return broken(Status::transport_error);
        state_ = State::connecting;
        return;
      }
      case RDMA_CM_EVENT_ESTABLISHED:
        state_ = State::connected;
        ready_.push_back(Completion{0, CompletionKind::established});
        return;
      case RDMA_CM_EVENT_DISCONNECTED:
        if (state_ == State::connected) rdma_disconnect(id_.get());
        return broken(Status::success);
      case RDMA_CM_EVENT_ADDR_ERROR:
      case RDMA_CM_EVENT_ROUTE_ERROR:
      case RDMA_CM_EVENT_CONNECT_ERROR:
      case RDMA_CM_EVENT_UNREACHABLE:
      case RDMA_CM_EVENT_REJECTED:
      case RDMA_CM_EVENT_DEVICE_REMOVAL:
        (void)status;
        return broken(Status::transport_error);
      default:
        return;
    }
  }

  // The connection is gone. The queue pair is in the error state, so outstanding
  // requests come back from the completion queue as flushed; `disconnected` is
  // reported once they have all been returned.
  void broken(Status reason) {
    if (state_ == State::broken) return;
    state_ = State::broken;
    disconnect_reason_ = reason;
    if (id_->qp != nullptr) {
      ibv_qp_attr attr{};
      attr.qp_state = IBV_QPS_ERR;
      ibv_modify_qp(id_->qp, &attr, IBV_QP_STATE);
    }
    disconnect_pending_ = true;
  }

  void drain_cq() {
    if (cq_) {
      ibv_cq* ev_cq = nullptr;
      void* ctx = nullptr;
      while (ibv_get_cq_event(comp_channel_.get(), &ev_cq, &ctx) == 0) {
        ibv_ack_cq_events(ev_cq, 1);
        ibv_req_notify_cq(ev_cq, 0);
      }
      ibv_wc wc[kCqPoll];
      int n;
      while ((n = ibv_poll_cq(cq_.get(), kCqPoll, wc)) > 0) {
        for (int i = 0; i < n; ++i) complete(wc[i]);
      }
    }
    if (disconnect_pending_ && tracked_.empty()) {
      disconnect_pending_ = false;
      ready_.push_back(Completion{0, CompletionKind::disconnected, disconnect_reason_});
    }
  }

  void complete(const ibv_wc& wc) {
    if (wc.wr_id == kBindWrId) {
      if (wc.status != IBV_WC_SUCCESS && wc.status != IBV_WC_WR_FLUSH_ERR) {
        rdma_disconnect(id_.get());
        broken(map_wc_status(wc.status));
      }
      return;
    }
    auto it = tracked_.find(wc.wr_id);
    if (it == tracked_.end()) return;
    Completion c{it->second.wr_id, it->second.kind, map_wc_status(wc.status)};
    tracked_.erase(it);
    if (c.status == Status::success) {
      c.byte_len = wc.byte_len;
      // rxe hands its user CQs the kernel's flags, where "with invalidate" is the bit
      // libibverbs calls IBV_WC_IP_CSUM_OK; that one never applies to an RC receive.
      if (c.kind == CompletionKind::recv &&
          (wc.wc_flags & (IBV_WC_WITH_INV | IBV_WC_IP_CSUM_OK)) != 0) {
        c.invalidated_token = wc.invalidated_rkey;
        invalidated_->insert(wc.invalidated_rkey);
      }
    }
    ready_.push_back(c);
    if (c.status != Status::success && c.status != Status::flushed) {
      rdma_disconnect(id_.get());
      broken(c.status);
    }
  }

  EventChannelPtr channel_;
  CmIdPtr id_;
  QueuePairConfig config_;
  State state_;
  InvalidatedKeys invalidated_ = std::make_shared<std::set<std::uint32_t>>();
  UniqueFd epoll_;
  // Released in reverse order: queue pair (destructor), CQ, completion channel, PD.
  PdPtr pd_;
  CompChannelPtr comp_channel_;
  CqPtr cq_;
  std::unordered_map<std::uint64_t, Tracked> tracked_;
  std::uint64_t next_key_ = 1;
  std::deque<Completion> ready_;
  bool disconnect_pending_ = false;
  Status disconnect_reason_ = Status::success;
};

class VerbsListener final : public Listener {
 public:
  VerbsListener(EventChannelPtr channel, CmIdPtr id, std::uint16_t port)
      : channel_(std::move(channel)), id_(std::move(id)), port_(port) {
    set_nonblocking(channel_->fd);
  }
  ~VerbsListener() override { id_.reset(); }
  int fd() const override { return channel_->fd; }
  std::uint16_t port() const override { return port_; }

  std::unique_ptr<QueuePair> accept(const QueuePairConfig& config) override {
    rdma_cm_event* event = nullptr;
    while (rdma_get_cm_event(channel_.get(), &event) == 0) {
      if (event->event != RDMA_CM_EVENT_CONNECT_REQUEST) {
        rdma_ack_cm_event(event);
        continue;
      }
      CmIdPtr id(event->id);
      rdma_ack_cm_event(event);
      // Later events of this connection go to its own channel, before it is accepted.
      EventChannelPtr channel(rdma_create_event_channel());
      if (!channel || rdma_migrate_id(id.get(), channel.get()) != 0) {
        rdma_reject(id.get(), nullptr, 0);
        continue;
      }
      std::string error;
      auto qp = std::make_unique<VerbsQueuePair>(std::move(channel), std::move(id), config, error);
      if (!qp->usable()) continue;
      return qp;
    }
    return nullptr;
  }

 private:
  EventChannelPtr channel_;
  CmIdPtr id_;
  std::uint16_t port_;
};

}  // namespace

std::unique_ptr<Listener> VerbsFabric::listen(const std::string& address, std::uint16_t port,
                                              std::string& error) {
  auto ai = resolve(address, port, true, error);
  if (!ai) return nullptr;
  EventChannelPtr channel(rdma_create_event_channel());
  if (!channel) {
    error = std::string("rdma_create_event_channel: ") + std::strerror(errno);
    return nullptr;
  }
  rdma_cm_id* raw = nullptr;
  if (rdma_create_id(channel.get(), &raw, nullptr, RDMA_PS_TCP) != 0) {
    error = std::string("rdma_create_id: ") + std::strerror(errno);
    return nullptr;
  }
  CmIdPtr id(raw);
  if (rdma_bind_addr(id.get(), ai->ai_addr) != 0 || rdma_listen(id.get(), 64) != 0) {
    error = std::string("rdma listen: ") + std::strerror(errno);
    return nullptr;
  }
  std::uint16_t bound = ntohs(rdma_get_src_port(id.get()));
  return std::make_unique<VerbsListener>(std::move(channel), std::move(id), bound);
}

std::unique_ptr<QueuePair> VerbsFabric::connect(const std::string& address, std::uint16_t port,
                                                const QueuePairConfig& config, std::string& error) {
  auto ai = resolve(address, port, false, error);
  if (!ai) return nullptr;
  EventChannelPtr channel(rdma_create_event_channel());
  if (!channel) {
    error = std::string("rdma_create_event_channel: ") + std::strerror(errno);
    return nullptr;
  }
  rdma_cm_id* raw = nullptr;
  if (rdma_create_id(channel.get(), &raw, nullptr, RDMA_PS_TCP) != 0) {
    error = std::string("rdma_create_id: ") + std::strerror(errno);
    return nullptr;
  }
  CmIdPtr id(raw);
  if (rdma_resolve_addr(id.get(), nullptr, ai->ai_addr, kResolveTimeoutMs) != 0) {
    error = std::string("rdma_resolve_addr: ") + std::strerror(errno);
    return nullptr;
  }
  return std::make_unique<VerbsQueuePair>(std::move(channel), std::move(id), config);
}

}  // namespace smb::fabric
