#include "smbd/auth/spnego.hh"

#include <algorithm>
#include <string_view>

#include "smbd/auth/der.hh"

namespace smb::auth {

namespace {

using der::Reader;
using der::Tlv;

bool decode_mech_type_list(Reader& seq_reader, NegTokenInit& out) {
  Tlv list;
  if (!seq_reader.expect(der::kTagSequence, list)) return false;
  out.mech_types_der.assign(list.whole.begin(), list.whole.end());
  Reader r = seq_reader.enter(list);
  while (r.ok() && !r.at_end()) {
    Tlv oid;
    if (!r.expect(der::kTagOid, oid) || oid.content.empty()) return false;
    if (out.mech_types.size() == kMaxMechTypes) return false;
    out.mech_types.emplace_back(oid.whole.begin(), oid.whole.end());
  }
  return r.ok() && !out.mech_types.empty();
}

bool decode_octet_string(Reader& field, std::optional<Bytes>& out) {
  Tlv s;
  if (!field.expect(der::kTagOctetString, s) || !field.at_end()) return false;
  out.emplace(s.content.begin(), s.content.end());
  return true;
}

// Iterates the context-tagged fields of a SEQUENCE, requiring strictly increasing tags
// (DER orders SEQUENCE components as declared; RFC 4178 4.2 declares them in tag order).
template <typename Handler>
bool for_each_field(Reader& outer, const Tlv& sequence, Handler handle) {
  if (sequence.tag != der::kTagSequence) return false;
  Reader r = outer.enter(sequence);
  int last = -1;
  while (r.ok() && !r.at_end()) {
    Tlv field;
    if (!r.next(field)) return false;
    if ((field.tag & 0xE0) != 0xA0) return false;  // context-specific, constructed
    int number = field.tag & 0x1F;
    if (number <= last) return false;
    last = number;
    Reader inner = r.enter(field);
    if (!handle(number, inner)) return false;
  }
  return r.ok();
}

bool decode_init_body(Reader& r, NegTokenInit& out) {
  Tlv choice;
  if (!r.expect(der::context(0), choice) || !r.at_end()) return false;
  Reader body = r.enter(choice);
  Tlv sequence;
  if (!body.next(sequence) || !body.at_end()) return false;
  bool have_types = false;
  bool ok = for_each_field(body, sequence, [&](int number, Reader& field) {
    switch (number) {
      case 0:
        have_types = true;
        return decode_mech_type_list(field, out) && field.at_end();
      case 1: {  // reqFlags: not used by this implementation; must still be well formed.
        Tlv flags;
        return field.expect(der::kTagBitString, flags) && field.at_end();
      }
      case 2:
        return decode_octet_string(field, out.mech_token);
      case 3: {
        // RFC 4178 has mechListMIC here; [MS-SPNG] NegTokenInit2 has negHints.
        std::uint8_t tag = 0;
        if (!field.peek(tag)) return false;
        if (tag == der::kTagOctetString) return decode_octet_string(field, out.mech_list_mic);
        Tlv hints;
        return field.expect(der::kTagSequence, hints) && field.at_end();
      }
      case 4:
        return decode_octet_string(field, out.mech_list_mic);
      default:
        return true;  // extension marker: later fields are ignored
    }
  });
  return ok && have_types;
}

}  // namespace

bool decode_neg_token_init(ByteSpan token, NegTokenInit& out) {
  out = NegTokenInit{};
  Reader top(token);
  std::uint8_t tag = 0;
  if (!top.peek(tag)) return false;
  if (tag == der::context(0)) return decode_init_body(top, out);
  // RFC 2743 3.1: [APPLICATION 0] IMPLICIT SEQUENCE { thisMech OID, innerToken ANY }.
  Tlv framed;
  if (!top.expect(der::kTagApplication0, framed) || !top.at_end()) return false;
  Reader inner = top.enter(framed);
  Tlv mech;
  if (!inner.expect(der::kTagOid, mech)) return false;
  if (!std::equal(mech.whole.begin(), mech.whole.end(), kSpnegoOid.begin(), kSpnegoOid.end())) {
    return false;
  }
  return decode_init_body(inner, out);
}

bool decode_neg_token_resp(ByteSpan token, NegTokenResp& out) {
  out = NegTokenResp{};
  Reader top(token);
  Tlv choice;
  if (!top.expect(der::context(1), choice) || !top.at_end()) return false;
  Reader body = top.enter(choice);
  Tlv sequence;
  if (!body.next(sequence) || !body.at_end()) return false;
  return for_each_field(body, sequence, [&](int number, Reader& field) {
    switch (number) {
      case 0: {
        Tlv e;
        if (!field.expect(der::kTagEnumerated, e) || !field.at_end()) return false;
        if (e.content.size() != 1 || e.content[0] > 3) return false;
        out.neg_state = static_cast<NegState>(e.content[0]);
        return true;
      }
      case 1: {
        Tlv oid;
        if (!field.expect(der::kTagOid, oid) || !field.at_end() || oid.content.empty()) {
          return false;
        }
        out.supported_mech.emplace(oid.whole.begin(), oid.whole.end());
        return true;
      }
      case 2:
        return decode_octet_string(field, out.response_token);
      case 3:
        return decode_octet_string(field, out.mech_list_mic);
      default:
        return true;
    }
  });
}

Bytes encode_mech_type_list(const std::vector<Bytes>& mech_types) {
  Bytes oids;
  for (const Bytes& oid : mech_types) oids.insert(oids.end(), oid.begin(), oid.end());
  return der::tlv(der::kTagSequence, oids);
}

namespace {
Bytes frame_init(const Bytes& sequence_body) {
  Bytes choice = der::tlv(der::context(0), der::tlv(der::kTagSequence, sequence_body));
  Bytes framed(kSpnegoOid.begin(), kSpnegoOid.end());
  framed.insert(framed.end(), choice.begin(), choice.end());
  return der::tlv(der::kTagApplication0, framed);
}
}  // namespace

Bytes encode_neg_token_init(const NegTokenInit& init) {
  Bytes body;
  der::write_tlv(body, der::context(0), encode_mech_type_list(init.mech_types));
  if (init.mech_token) {
    der::write_tlv(body, der::context(2), der::tlv(der::kTagOctetString, *init.mech_token));
  }
  if (init.mech_list_mic) {
    der::write_tlv(body, der::context(3), der::tlv(der::kTagOctetString, *init.mech_list_mic));
  }
  return frame_init(body);
}

Bytes encode_neg_token_init_hint() {
  return encode_neg_token_init_hint({Bytes(kNtlmsspOid.begin(), kNtlmsspOid.end())});
}

Bytes encode_neg_token_init_hint(const std::vector<Bytes>& mech_types) {
  static constexpr std::string_view kHintName = "not_defined_in_RFC4178@please_ignore";
  Bytes body;
  der::write_tlv(body, der::context(0), encode_mech_type_list(mech_types));
  ByteSpan name(reinterpret_cast<const std::uint8_t*>(kHintName.data()), kHintName.size());
  Bytes hint_name = der::tlv(der::context(0), der::tlv(der::kTagGeneralString, name));
  der::write_tlv(body, der::context(3), der::tlv(der::kTagSequence, hint_name));
  return frame_init(body);
}

Bytes encode_neg_token_resp(const NegTokenResp& resp) {
  Bytes body;
  if (resp.neg_state) {
    std::uint8_t state = static_cast<std::uint8_t>(*resp.neg_state);
    der::write_tlv(body, der::context(0), der::tlv(der::kTagEnumerated, ByteSpan(&state, 1)));
  }
  if (resp.supported_mech) der::write_tlv(body, der::context(1), *resp.supported_mech);
  if (resp.response_token) {
    der::write_tlv(body, der::context(2), der::tlv(der::kTagOctetString, *resp.response_token));
  }
  if (resp.mech_list_mic) {
    der::write_tlv(body, der::context(3), der::tlv(der::kTagOctetString, *resp.mech_list_mic));
  }
  return der::tlv(der::context(1), der::tlv(der::kTagSequence, body));
}

}  // namespace smb::auth
