// Object ids ([MS-FSCC] 2.3.7, 2.3.25, 2.3.79; [MS-FSA] 2.1.5.9.4, .16, .33).
// Nothing is stored: a file's object id is derived from what identifies it, its device
// and inode, as HMAC-SHA256 keyed with the server's GUID, truncated to 16 bytes. It is
// stable while the file lives and the server keeps its GUID (the master makes one when it
// starts and keeps it over reloads, so ids change when the server restarts), and distinct
// per file. The key is no secret (NEGOTIATE carries the GUID); nothing is hidden by it
// that FileInternalInformation does not already show (the inode). An id cannot be chosen
// or removed: FSCTL_SET_OBJECT_ID(_EXTENDED) and FSCTL_DELETE_OBJECT_ID answer
// STATUS_NOT_SUPPORTED.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>

#include "smbd/proto/fsctl.hh"
#include "smbd/worker/fsctl.hh"
#include "smbd/worker/worker.hh"

namespace smb::server {

namespace {

std::array<std::uint8_t, 16> object_id_of(const Guid& key, const fsa::FileKey& file) {
  std::uint8_t data[16];
  store_le64(data, file.device);
  store_le64(data + 8, file.inode);
  std::uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  std::array<std::uint8_t, 16> id{};
  if (::HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data, sizeof data, mac,
             &mac_size) != nullptr) {
    std::memcpy(id.data(), mac, id.size());
  }
  return id;
}

}  // namespace

void fsctl_object_id(const RequestPtr& req, const IoctlRequest& request) {
  Open* open = file_open(req);
  if (open == nullptr) return;
  switch (request.ctl_code) {
    case FSCTL_CREATE_OR_GET_OBJECT_ID:
    case FSCTL_GET_OBJECT_ID: {
      if (request.max_output_response < kObjectIdBufferSize) {
        req->reply(NtStatus::BUFFER_TOO_SMALL);
        return;
      }
      FileObjectIdBuffer buffer;
      buffer.object_id = object_id_of(req->worker.config().server_guid, open->key);
      // [MS-FSCC] 2.1.3.1: the file was born here, with this id, in no domain.
      buffer.birth_object_id = buffer.object_id;
      reply_ioctl(req, request, encode_fsctl(buffer));
      return;
    }
    default:  // SET, SET_EXTENDED, DELETE: ids are derived, not stored
      req->reply(NtStatus::NOT_SUPPORTED);
      return;
  }
}

}  // namespace smb::server
