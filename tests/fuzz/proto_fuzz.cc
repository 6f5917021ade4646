// Runs every SMB2 decoder of smb_proto on the input: as a compound message, as each
// element, and as the typed payloads (negotiate/create contexts, FSCTL buffers).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "smbd/proto/cancel.hh"
#include "smbd/proto/change_notify.hh"
#include "smbd/proto/close.hh"
#include "smbd/proto/create.hh"
#include "smbd/proto/echo.hh"
#include "smbd/proto/error.hh"
#include "smbd/proto/flush.hh"
#include "smbd/proto/fsctl.hh"
#include "smbd/proto/header.hh"
#include "smbd/proto/ioctl.hh"
#include "smbd/proto/lock.hh"
#include "smbd/proto/logoff.hh"
#include "smbd/proto/negotiate.hh"
#include "smbd/proto/oplock_break.hh"
#include "smbd/proto/query_directory.hh"
#include "smbd/proto/query_info.hh"
#include "smbd/proto/read.hh"
#include "smbd/proto/reparse.hh"
#include "smbd/proto/session_setup.hh"
#include "smbd/proto/set_info.hh"
#include "smbd/proto/tree_connect.hh"
#include "smbd/proto/tree_disconnect.hh"
#include "smbd/proto/write.hh"

namespace {

template <typename T>
void run(smb::ByteSpan pdu) {
  T out;
  (void)decode(pdu, out);
}

template <typename T>
void run_context(smb::ByteSpan data) {
  T out;
  (void)smb::decode_context(data, out);
}

template <typename T>
void run_fsctl(smb::ByteSpan data) {
  T out;
  (void)smb::decode_fsctl(data, out);
}

void run_all(smb::ByteSpan pdu) {
  using namespace smb;
  run<Header>(pdu);
  run<NegotiateRequest>(pdu);
  run<NegotiateResponse>(pdu);
  run<SessionSetupRequest>(pdu);
  run<SessionSetupResponse>(pdu);
  run<LogoffRequest>(pdu);
  run<LogoffResponse>(pdu);
  run<TreeConnectRequest>(pdu);
  run<TreeConnectResponse>(pdu);
  run<TreeDisconnectRequest>(pdu);
  run<TreeDisconnectResponse>(pdu);
  run<CreateRequest>(pdu);
  run<CreateResponse>(pdu);
  run<CloseRequest>(pdu);
  run<CloseResponse>(pdu);
  run<FlushRequest>(pdu);
  run<FlushResponse>(pdu);
  run<ReadRequest>(pdu);
  run<ReadResponse>(pdu);
  run<WriteRequest>(pdu);
  run<WriteResponse>(pdu);
  run<LockRequest>(pdu);
  run<LockResponse>(pdu);
  run<IoctlRequest>(pdu);
  run<IoctlResponse>(pdu);
  run<CancelRequest>(pdu);
  run<EchoRequest>(pdu);
  run<EchoResponse>(pdu);
  run<QueryDirectoryRequest>(pdu);
  run<QueryDirectoryResponse>(pdu);
  run<ChangeNotifyRequest>(pdu);
  run<ChangeNotifyResponse>(pdu);
  run<QueryInfoRequest>(pdu);
  run<QueryInfoResponse>(pdu);
  run<SetInfoRequest>(pdu);
  run<SetInfoResponse>(pdu);
  run<OplockBreak>(pdu);
  run<LeaseBreakNotification>(pdu);
  run<LeaseBreakAck>(pdu);
  run<ErrorResponse>(pdu);
  (void)oplock_break_kind(pdu);
}

void run_payloads(smb::ByteSpan data) {
  using namespace smb;
  run_context<PreauthIntegrityCapabilities>(data);
  run_context<EncryptionCapabilities>(data);
  run_context<CompressionCapabilities>(data);
  run_context<NetnameNegotiateContext>(data);
  run_context<TransportCapabilities>(data);
  run_context<RdmaTransformCapabilities>(data);
  run_context<SigningCapabilities>(data);
  run_context<DurableHandleRequest>(data);
  run_context<DurableHandleResponse>(data);
  run_context<DurableHandleReconnect>(data);
  run_context<DurableHandleRequestV2>(data);
  run_context<DurableHandleResponseV2>(data);
  run_context<DurableHandleReconnectV2>(data);
  run_context<QueryMaximalAccessRequest>(data);
  run_context<QueryMaximalAccessResponse>(data);
  run_context<QueryOnDiskIdResponse>(data);
  run_context<LeaseContext>(data);
  run_context<TimewarpToken>(data);
  run_context<AllocationSize>(data);
  run_fsctl<ValidateNegotiateInfoRequest>(data);
  run_fsctl<ValidateNegotiateInfoResponse>(data);
  run_fsctl<ResumeKeyResponse>(data);
  run_fsctl<CopyChunkCopy>(data);
  run_fsctl<CopyChunkResponse>(data);
  run_fsctl<FileZeroDataInformation>(data);
  run_fsctl<FileAllocatedRange>(data);
  run_fsctl<FileObjectIdBuffer>(data);
  run_fsctl<DuplicateExtentsData>(data);
  bool sparse = false;
  (void)decode_set_sparse(data, sparse);
  // A symbolic link's reparse data decodes to names that encode back to a buffer that
  // decodes to the same link (when they fit the encoder's bound: both names may
  // decode from the same bytes, so a valid buffer can hold more than it).
  SymbolicLinkReparse link;
  if (decode_reparse(data, link) == NtStatus::SUCCESS &&
      link.substitute_name.size() + link.print_name.size() < 16384) {
    SymbolicLinkReparse again;
    if (decode_reparse(encode_reparse(link), again) != NtStatus::SUCCESS || !(again == link))
      __builtin_trap();
  }
  std::vector<FileAllocatedRange> ranges;
  // What decodes re-encodes to the same bytes.
  if (decode_allocated_ranges(data, ranges) == NtStatus::SUCCESS &&
      encode_allocated_ranges(ranges) != Bytes(data.begin(), data.end()))
    __builtin_trap();
  std::vector<CreateContext> contexts;
  (void)decode_create_contexts(data, contexts);
  std::vector<NetworkInterfaceInfo> interfaces;
  (void)decode_network_interfaces(data, interfaces);
  std::vector<BufferDescriptorV1> descriptors;
  (void)decode_buffer_descriptors(data, descriptors);
  std::vector<FileNotifyInformation> changes;
  if (decode_file_notify_information(data, changes) == NtStatus::SUCCESS)
    (void)encode_file_notify_information(changes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // An exact-size copy, so that any read past the end is caught.
  std::vector<std::uint8_t> input(data, data + size);
  smb::ByteSpan message(input);

  std::vector<std::string> dialects;
  (void)smb::decode_smb1_negotiate(message, dialects);
  run_payloads(message);
  run_all(message);

  std::vector<smb::ByteSpan> elements;
  if (smb::split_compound(message, elements) == smb::NtStatus::SUCCESS) {
    for (smb::ByteSpan element : elements) run_all(element);
  }
  return 0;
}
