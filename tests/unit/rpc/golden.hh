// Request PDUs as impacket 0.10 (impacket.dcerpc.v5.rpcrt + srvs) sends them, captured
// with `impacket_roundtrip.py --golden`: call ids 1 (bind) and 2, context 0, NDR20.
// impacket fills NDR padding with 0xab/0xbf and picks random referent ids, which these
// PDUs keep.
#pragma once

#include <string_view>

namespace smb::rpc::golden {

// bind_srvsvc (72 bytes)
inline constexpr std::string_view k_bind_srvsvc =
    "05000b03100000004800000001000000b810b810000000000100000000000100"
    "c84f324b7016d30112785a47bf6ee18803000000045d888aeb1cc9119fe80800"
    "2b10486002000000";
// share_enum_1 (76 bytes)
inline constexpr std::string_view k_share_enum_1 =
    "05000003100000004c000000020000003400000000000f00c006000001000000"
    "00000000010000000000abab0100000001000000b1fd00000000000000000000"
    "ffffffff10a6000000000000";
// share_enum_2 (76 bytes)
inline constexpr std::string_view k_share_enum_2 =
    "05000003100000004c000000020000003400000000000f0099a8000001000000"
    "00000000010000000000abab020000000200000085f300000000000000000000"
    "ffffffff442e000000000000";
// share_get_info_public_502 (60 bytes)
inline constexpr std::string_view k_share_get_info_public_502 =
    "05000003100000003c0000000200000024000000000010000000000007000000"
    "00000000070000007000750062006c00690063000000bfbff6010000";
// server_get_info_101 (32 bytes)
inline constexpr std::string_view k_server_get_info_101 =
    "0500000310000000200000000200000008000000000015000000000065000000";

}  // namespace smb::rpc::golden
