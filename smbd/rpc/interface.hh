// An RPC interface served on a named pipe.
#pragma once

#include <cstdint>

#include "smbd/base/bytes.hh"
#include "smbd/rpc/ndr.hh"

namespace smb::rpc {

class Interface {
 public:
  virtual ~Interface() = default;

  // The abstract syntax (interface UUID and version) a bind names to reach this one.
  virtual const SyntaxId& syntax() const = 0;

  // Runs operation `opnum` on a complete NDR20 request stub and appends the NDR20
  // response stub to `out`. Returns 0, or the status of the fault PDU to send instead
  // (then `out` is ignored): kNcaOpRngError for an opnum the interface does not
  // implement ([C706] 12.6.4.7), kRpcBadStubData for a stub that does not unmarshal
  // ([MS-RPCE] 3.1.1.5.5).
  virtual std::uint32_t call(std::uint16_t opnum, ByteSpan stub, Bytes& out) = 0;
};

}  // namespace smb::rpc
