"""A Kerberos realm of a test's own: an MIT KDC on a free loopback port, its database,
keytabs and credential cache in one directory, for the tests that log on with Kerberos
(test_kerberos.py, run_smbtorture.py --kerberos).

Standard library only; the MIT tools come from Debian's krb5-kdc, krb5-admin-server and
krb5-user.
"""

import os
import subprocess

import smbtest

REALM = "SMBTEST.TEST"
# The server's name in the realm: clients reach it at 127.0.0.1 under this name (-I for
# smbclient, nss_wrapper's hosts file for smbtorture), as Samba's client uses no Kerberos
# for an address or for "localhost".
HOST = "fileserver.smbtest.test"
SERVICE = f"cifs/{HOST}"
TOOLS = ("krb5kdc", "kdb5_util", "kadmin.local", "kinit", "kdestroy", "kvno")
NSS_WRAPPER = "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so"


def missing_tools():
    path = os.environ.get("PATH", "") + ":/usr/sbin"
    import shutil
    return [t for t in TOOLS if not shutil.which(t, path=path)]


def server_options(keytab):
    """The [global] lines that make a server accept tickets for SERVICE."""
    return ["kerberos method = dedicated keytab", f"dedicated keytab file = {keytab}",
            f"realm = {REALM.lower()}"]


class Realm:
    """A KDC of its own: database, stash, keytabs and credential caches in `dir`."""

    def __init__(self, directory):
        self.dir = directory
        self.port = smbtest.free_port()
        self.conf = os.path.join(directory, "krb5.conf")
        self.kdc_conf = os.path.join(directory, "kdc.conf")
        with open(self.conf, "w") as f:
            f.write("[libdefaults]\n"
                    f"  default_realm = {REALM}\n"
                    "  dns_lookup_kdc = false\n  dns_lookup_realm = false\n"
                    "  rdns = false\n  dns_canonicalize_hostname = false\n"
                    "  udp_preference_limit = 1\n"
                    f"[realms]\n  {REALM} = {{\n    kdc = 127.0.0.1:{self.port}\n  }}\n"
                    f"[domain_realm]\n  .smbtest.test = {REALM}\n")
        with open(self.kdc_conf, "w") as f:
            f.write(f"[kdcdefaults]\n  kdc_ports = {self.port}\n  kdc_tcp_ports = {self.port}\n"
                    f"[realms]\n  {REALM} = {{\n"
                    f"    database_name = {directory}/principal\n"
                    f"    key_stash_file = {directory}/stash\n"
                    f"    acl_file = {directory}/kadm5.acl\n"
                    "    max_life = 10h\n  }\n"
                    f"[logging]\n  kdc = FILE:{directory}/kdc.log\n")
        self.env = dict(os.environ, KRB5_CONFIG=self.conf, KRB5_KDC_PROFILE=self.kdc_conf,
                        KRB5CCNAME=f"{directory}/ccache",
                        KRB5RCACHEDIR=directory)
        self.proc = None

    def run(self, *cmd, env=None):
        r = smbtest.run(list(cmd), timeout=60, env=env or self.env)
        if r.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed: {r.stdout}{r.stderr}")
        return r

    def start(self):
        self.run("kdb5_util", "create", "-s", "-r", REALM, "-P", "master-Pw-1")
        self.hosts = os.path.join(self.dir, "hosts")
        with open(self.hosts, "w") as f:
            f.write(f"127.0.0.1 {HOST}\n")
        self.log = open(os.path.join(self.dir, "krb5kdc.out"), "wb")
        self.proc = subprocess.Popen(["krb5kdc", "-n", "-r", REALM], env=self.env,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        smbtest.wait_until(lambda: smbtest.port_open(self.port), "the KDC listens")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc:
            self.log.close()

    def kadmin(self, query):
        return self.run("kadmin.local", "-r", REALM, "-q", query)

    def keytab(self, principal, name):
        """A keytab with a new random key of `principal` (the KDC's key changes too)."""
        path = os.path.join(self.dir, name)
        self.kadmin(f"ktadd -k {path} {principal}")
        return path

    def kinit(self, principal, lifetime=None):
        """A ticket-granting ticket of `principal` (made when new) in the test's cache,
        for `lifetime` (kinit's -l, e.g. "20s") when given."""
        if principal not in self.kadmin("listprincs").stdout.split():
            self.kadmin(f"addprinc -randkey {principal}")
        if os.path.exists(os.path.join(self.dir, "ccache")):
            self.run("kdestroy", "-q")
        keytab = self.keytab(principal, principal.replace("/", "_") + ".keytab")
        self.run("kinit", *(["-l", lifetime] if lifetime else []), "-k", "-t", keytab,
                 f"{principal}@{REALM}")

    def client_env(self):
        """The environment of a client that finds HOST at 127.0.0.1 (nss_wrapper)."""
        return dict(self.env, LD_PRELOAD=NSS_WRAPPER, NSS_WRAPPER_HOSTS=self.hosts)
