#include "smbd/worker/oplocks.hh"

#include <algorithm>
#include <chrono>
#include <memory>

#include "smbd/conf/log.hh"
#include "smbd/proto/oplock_break.hh"
#include "smbd/worker/async.hh"
#include "smbd/worker/blocking.hh"
#include "smbd/worker/break_delivery.hh"
#include "smbd/worker/connection.hh"
#include "smbd/worker/dispatch.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

fsa::OplockType to_oplock_type(OplockLevel level) {
  switch (level) {
    case OplockLevel::II:
      return fsa::OplockType::LEVEL_TWO;
    case OplockLevel::EXCLUSIVE:
      return fsa::OplockType::LEVEL_ONE;
    case OplockLevel::BATCH:
      return fsa::OplockType::LEVEL_BATCH;
    case OplockLevel::LEASE:
      return fsa::OplockType::LEVEL_GRANULAR;
    case OplockLevel::NONE:
      break;
  }
  return fsa::OplockType::LEVEL_NONE;
}

OplockLevel to_oplock_level(fsa::OplockType type) {
  switch (type) {
    case fsa::OplockType::LEVEL_TWO:
      return OplockLevel::II;
    case fsa::OplockType::LEVEL_ONE:
      return OplockLevel::EXCLUSIVE;
    case fsa::OplockType::LEVEL_BATCH:
      return OplockLevel::BATCH;
    case fsa::OplockType::LEVEL_GRANULAR:
      return OplockLevel::LEASE;
    case fsa::OplockType::LEVEL_NONE:
      break;
  }
  return OplockLevel::NONE;
}

namespace {

Header notification_header() {
  Header h;
  h.command = Command::OPLOCK_BREAK;
  h.flags = kFlagServerToRedir;
  // MS-SMB2 3.3.4.6, 3.3.4.7: an unsolicited notification carries MessageId all ones.
  h.message_id = ~std::uint64_t{0};
  h.session_id = 0;
  return h;
}

// MS-SMB2 3.3.4.1.6, 3.3.4.6: the channels an oplock break of open `id` may go on: the
// one the open was last used on, then the other channels of its session in the order
// they were bound (each of them once). Nothing once the open is gone.
BreakDelivery::Chooser oplock_channels(Worker& worker, FileId id) {
  return [&worker, id](const std::set<std::uint64_t>& tried) -> Connection* {
    Open* open = worker.client().open(id);
    if (open == nullptr) return nullptr;
    auto usable = [&](std::uint64_t connection_id) -> Connection* {
      return tried.count(connection_id) != 0 ? nullptr : worker.connection(connection_id);
    };
    if (Connection* c = usable(open->connection_id)) return c;
    Session* session = worker.client().session(open->session_id);
    if (session == nullptr) return nullptr;
    for (const auto& [connection_id, channel] : session->channels) {
      if (Connection* c = usable(connection_id)) {
        // MS-SMB2 3.3.4.6: the open's connection is now the one that carries its break.
        open->connection_id = connection_id;
        return c;
      }
    }
    return nullptr;
  };
}

// MS-SMB2 3.3.4.7: a lease belongs to the client, not to an open's channel: Windows tells
// the client on its oldest connection (smbtorture's v2_complex1), whichever made the
// open, and goes on to the next oldest when one fails to deliver it (smb2.multichannel
// leases.test2 and test4: in the order the channels were made). An encrypted session's
// break goes only where the session has a channel: the client could not read it
// elsewhere.
BreakDelivery::Chooser lease_channels(Worker& worker, std::uint64_t session_id) {
  return [&worker, session_id](const std::set<std::uint64_t>& tried) -> Connection* {
    Session* session = worker.client().session(session_id);
    bool sealed = session != nullptr && session->encrypt_data;
    for (std::uint64_t connection_id : worker.connection_ids()) {
      if (tried.count(connection_id) != 0) continue;
      if (sealed && session->channels.count(connection_id) == 0) continue;
      if (Connection* c = worker.connection(connection_id)) return c;
    }
    return nullptr;
  };
}

// A break no channel took: with an acknowledgement due, it takes effect at once, so
// that the openers waiting for it go on.
std::function<void()> give_up(Worker& worker, FileId id, bool ack_required) {
  return [&worker, id, ack_required]() {
    fsa::SharedOpenTable* table = worker.client().host_files();
    Open* open = worker.client().open(id);
    if (ack_required && table != nullptr && open != nullptr) table->give_up_break(*open);
  };
}

}  // namespace

bool send_oplock_break(Worker& worker, Open& open, fsa::OplockType new_level,
                       std::function<void()> undeliverable) {
  OplockBreak notification;
  notification.oplock_level = to_oplock_level(new_level);
  notification.file_id = open.id;
  log::debug(5, "", "oplock break for '%s'", open.path.c_str());
  return worker.breaks().send(encode_message(notification_header(), notification), open.session_id,
                              oplock_channels(worker, open.id), std::move(undeliverable));
}

bool send_lease_break(Worker& worker, Open& open, const fsa::SharedOpenTable::BreakNotice& notice) {
  LeaseBreakNotification notification;
  // MS-SMB2 2.2.23.2: NewEpoch only for a v2 lease.
  notification.new_epoch = open.lease.version == 2 ? notice.epoch : 0;
  notification.flags = notice.ack_required ? kNotifyBreakLeaseFlagAckRequired : 0;
  notification.lease_key = open.lease.key;
  notification.current_lease_state = notice.current_state;
  notification.new_lease_state = notice.new_state;
  log::debug(5, "", "lease break for '%s'", open.path.c_str());
  return worker.breaks().send(encode_message(notification_header(), notification), open.session_id,
                              lease_channels(worker, open.session_id),
                              give_up(worker, open.id, notice.ack_required));
}

namespace {

// A request waiting for breaks (oplocks.hh: wait_for_breaks); lives in its doorbell
// listener.
struct BreakWait {
  Worker* worker = nullptr;
  fsa::FileKey key;
  std::uint64_t listener = 0;
  uv_timer_t* timer = nullptr;
  std::function<bool(bool)> retry;
  bool done = false;

  void finish() {
    done = true;
    if (timer != nullptr) {
      uv_timer_stop(timer);
      uv_close(reinterpret_cast<uv_handle_t*>(timer),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
      timer = nullptr;
    }
    // Last: the listener holds this wait, which forgetting it may free.
    Worker* owner = worker;
    owner->forget_doorbell(listener);
  }
};

}  // namespace

void wait_for_breaks(const RequestPtr& req, fsa::FileKey key, unsigned timeout_seconds,
                     std::function<bool(bool)> retry) {
  Worker& worker = req->worker;
  auto wait = std::make_shared<BreakWait>();
  wait->worker = &worker;
  wait->key = key;
  wait->retry = std::move(retry);
  wait->listener = worker.on_doorbell([wait]() {
    if (!wait->done && wait->retry(false)) wait->finish();
  });
  wait->timer = new uv_timer_t;
  uv_timer_init(worker.loop(), wait->timer);
  wait->timer->data = wait.get();  // the listener keeps the wait alive until finish()
  auto on_timeout = [](uv_timer_t* t) {
    auto* w = static_cast<BreakWait*>(t->data);
    if (w->done) return;
    // MS-SMB2 3.3.6.1 (oplock break acknowledgment timer): the breaks take effect.
    if (fsa::SharedOpenTable* table = w->worker->client().host_files()) table->force_breaks(w->key);
    Serving as_process(credentials::process_identity());
    if (w->retry(true)) w->finish();
  };
  uv_timer_start(wait->timer, on_timeout, std::uint64_t{timeout_seconds} * 1000,
                 std::uint64_t{timeout_seconds} * 1000);
  // The wait ended from outside: out of the doorbell's listeners at once, the answer on
  // a later turn of the loop (async.hh). A wait that already ended by itself (its answer
  // still on its way, after an overwrite) has nothing left to do.
  std::weak_ptr<BreakWait> weak = wait;
  auto went = go_async(req, [weak, req, &worker](AsyncEnd) {
    auto w = weak.lock();
    if (w == nullptr || w->done) return;
    w->finish();
    worker.after(std::chrono::milliseconds(0), [req]() { req->reply(NtStatus::CANCELLED); });
  });
  if (!went) {
    wait->finish();
    req->reply(NtStatus::INSUFFICIENT_RESOURCES);
  }
}

void directory_changed(ClientState& client, const fsa::FileKey& directory, const Open& by) {
  if (fsa::SharedOpenTable* table = client.host_files(); table != nullptr && by.caching_in_table)
    table->break_directory_leases(directory, by);
}

void deliver_breaks(Worker& worker) {
  fsa::SharedOpenTable* table = worker.client().host_files();
  if (table == nullptr) return;
  std::vector<FileId> unreachable;
  for (const auto& notice : table->take_breaks()) {
    auto& open = static_cast<Open&>(*notice.open);
    // MS-SMB2 3.3.4.6, 3.3.4.7: a durable open whose connection is gone cannot be told;
    // it is closed, and the opener that asked for the break goes on (as Windows does).
    if (open.disconnected()) {
      if (std::find(unreachable.begin(), unreachable.end(), open.id) == unreachable.end())
        unreachable.push_back(open.id);
      continue;
    }
    // A break no channel takes, at once or after each has failed to deliver it, is given
    // up there (give_up).
    if (notice.lease)
      send_lease_break(worker, open, notice);
    else
      send_oplock_break(worker, open, notice.new_level,
                        give_up(worker, open.id, notice.ack_required));
  }
  for (const FileId& id : unreachable) worker.close_disconnected(id);
}

}  // namespace smb::server
