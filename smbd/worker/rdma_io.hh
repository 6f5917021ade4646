// SMB2 READ and WRITE with SMB2_CHANNEL_RDMA_V1(_INVALIDATE) ([MS-SMB2] 3.3.5.12,
// 3.3.5.13) on an RDMA channel: the data moves between the file and a shmring slot on
// the libuv pool, and between the slot and the client's buffers by rdmaproxy.
#pragma once

#include "smbd/proto/read.hh"
#include "smbd/proto/write.hh"
#include "smbd/worker/request.hh"

namespace smb::server {

// Serve a READ/WRITE whose Channel is not NONE. Return false (and do nothing) when the
// connection is not an RDMA channel or the channel is not RDMA_V1(_INVALIDATE): the
// caller then answers INVALID_PARAMETER. Otherwise the request is answered.
bool serve_rdma_read(const RequestPtr& req, const ReadRequest& request);
bool serve_rdma_write(const RequestPtr& req, const WriteRequest& request);

}  // namespace smb::server
