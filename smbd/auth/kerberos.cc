#include "smbd/auth/kerberos.hh"

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5/krb5.h>
#include <profile.h>

#include <strings.h>
#include <algorithm>

#include <cstring>

#include "smbd/base/credentials.hh"

namespace smb::auth {

namespace {

// 1.2.840.113554.1.2.2.5.5 (GSS_C_INQ_SSPI_SESSION_KEY): the key SSPI calls the session
// key, which is the one SMB2 derives its keys from.
gss_OID_desc sspi_session_key_oid = {
    11, const_cast<char*>("\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x05\x05")};
gss_OID_desc krb5_mech_oid = {9, const_cast<char*>("\x2a\x86\x48\x86\xf7\x12\x01\x02\x02")};

std::string gss_error(OM_uint32 major, OM_uint32 minor) {
  std::string text;
  for (auto [code, type] : {std::pair{major, GSS_C_GSS_CODE}, std::pair{minor, GSS_C_MECH_CODE}}) {
    if (code == 0) continue;
    OM_uint32 context = 0;
    do {
      OM_uint32 status_minor = 0;
      gss_buffer_desc message{};
      if (gss_display_status(&status_minor, code, type, &krb5_mech_oid, &context, &message) !=
          GSS_S_COMPLETE)
        break;
      if (!text.empty()) text += ": ";
      text.append(static_cast<const char*>(message.value), message.length);
      gss_release_buffer(&status_minor, &message);
    } while (context != 0);
  }
  return text;
}

struct Credential {
  gss_cred_id_t handle = GSS_C_NO_CREDENTIAL;
  ~Credential() {
    OM_uint32 minor = 0;
    if (handle != GSS_C_NO_CREDENTIAL) gss_release_cred(&minor, &handle);
  }
};
struct Context {
  gss_ctx_id_t handle = GSS_C_NO_CONTEXT;
  ~Context() {
    OM_uint32 minor = 0;
    if (handle != GSS_C_NO_CONTEXT) gss_delete_sec_context(&minor, &handle, GSS_C_NO_BUFFER);
  }
};
struct Name {
  gss_name_t handle = GSS_C_NO_NAME;
  ~Name() {
    OM_uint32 minor = 0;
    if (handle != GSS_C_NO_NAME) gss_release_name(&minor, &handle);
  }
};
struct Buffer {
  gss_buffer_desc value{};
  ~Buffer() {
    OM_uint32 minor = 0;
    gss_release_buffer(&minor, &value);
  }
};
struct BufferSet {
  gss_buffer_set_t handle = GSS_C_NO_BUFFER_SET;
  ~BufferSet() {
    OM_uint32 minor = 0;
    if (handle != GSS_C_NO_BUFFER_SET) gss_release_buffer_set(&minor, &handle);
  }
};

// MIT reports a context's lifetime with the allowed clock skew added (libdefaults'
// clockskew, 300 s by default); the ticket itself ends that much earlier.
int clock_skew_seconds() {
  int skew = 300;
  krb5_context context = nullptr;
  if (krb5_init_context(&context) != 0) return skew;
  profile_t profile = nullptr;
  if (krb5_get_profile(context, &profile) == 0) {
    if (profile_get_integer(profile, "libdefaults", "clockskew", nullptr, 300, &skew) != 0)
      skew = 300;
    profile_release(profile);
  }
  krb5_free_context(context);
  return skew;
}

KerberosResult failed(std::string why) {
  KerberosResult result;
  result.status = NtStatus::LOGON_FAILURE;
  result.failure = std::move(why);
  return result;
}

}  // namespace

bool is_kerberos_oid(ByteSpan der_oid) {
  return std::equal(der_oid.begin(), der_oid.end(), std::begin(kKerberosOid),
                    std::end(kKerberosOid)) ||
         std::equal(der_oid.begin(), der_oid.end(), std::begin(kMsKerberosOid),
                    std::end(kMsKerberosOid));
}

KerberosResult accept_kerberos(const KerberosSettings& settings, ByteSpan initial_token) {
  if (settings.keytab.empty()) return failed("Kerberos is not configured");
  // The keytab and the replay cache are the server's, readable by root alone: a
  // re-authentication arrives while the thread acts as the session's user.
  credentials::IdentityScope as_server(credentials::process_identity());
  if (!as_server.ok()) return failed("cannot act as the server to read the keytab");
  OM_uint32 major = 0, minor = 0;

  // The keytab of the configuration, not the process's default: a credential store.
  gss_key_value_element_desc keytab_element{"keytab", settings.keytab.c_str()};
  gss_key_value_set_desc store{1, &keytab_element};
  gss_OID_set_desc mechs{1, &krb5_mech_oid};
  Credential credential;
  major = gss_acquire_cred_from(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs, GSS_C_ACCEPT,
                                &store, &credential.handle, nullptr, nullptr);
  if (GSS_ERROR(major))
    return failed("cannot use the keytab " + settings.keytab + ": " + gss_error(major, minor));

  Context context;
  Name client;
  Buffer output;
  gss_buffer_desc input{initial_token.size(), const_cast<std::uint8_t*>(initial_token.data())};
  OM_uint32 flags = 0, lifetime = 0;
  major = gss_accept_sec_context(&minor, &context.handle, credential.handle, &input,
                                 GSS_C_NO_CHANNEL_BINDINGS, &client.handle, nullptr, &output.value,
                                 &flags, &lifetime, nullptr);
  if (GSS_ERROR(major)) return failed("ticket refused: " + gss_error(major, minor));
  // A Kerberos AP-REQ completes in one step; anything else is not one.
  if (major != GSS_S_COMPLETE) return failed("the Kerberos token did not complete the context");

  Buffer display;
  major = gss_display_name(&minor, client.handle, &display.value, nullptr);
  if (GSS_ERROR(major)) return failed("no client name: " + gss_error(major, minor));
  std::string principal(static_cast<const char*>(display.value.value), display.value.length);

  BufferSet key;
  major =
      gss_inquire_sec_context_by_oid(&minor, context.handle, &sspi_session_key_oid, &key.handle);
  if (GSS_ERROR(major) || key.handle == GSS_C_NO_BUFFER_SET || key.handle->count < 1 ||
      key.handle->elements[0].length == 0)
    return failed("no session key: " + gss_error(major, minor));

  KerberosResult result;
  auto at = principal.rfind('@');
  result.user = principal.substr(0, at);
  result.realm = at == std::string::npos ? std::string() : principal.substr(at + 1);
  if (result.user.empty() || result.user.find('/') != std::string::npos)
    return failed("principal '" + principal + "' is not a user");
  if (strcasecmp(result.realm.c_str(), settings.realm.c_str()) != 0)
    return failed("principal '" + principal + "' is not of realm " + settings.realm);
  // [MS-SMB2] 3.3.5.5.3: the whole key (FullSessionKey), zero-padded to 16 bytes when
  // shorter; Session.SessionKey is its first 16 bytes.
  const auto& k = key.handle->elements[0];
  result.session_key.assign(std::max<std::size_t>(k.length, 16), 0);
  std::memcpy(result.session_key.data(), k.value, k.length);
  result.output_token.assign(
      static_cast<const std::uint8_t*>(output.value.value),
      static_cast<const std::uint8_t*>(output.value.value) + output.value.length);
  result.lifetime_seconds =
      lifetime == GSS_C_INDEFINITE
          ? -1
          : std::max<std::int64_t>(0, static_cast<std::int64_t>(lifetime) - clock_skew_seconds());
  result.status = NtStatus::SUCCESS;
  return result;
}

}  // namespace smb::auth
