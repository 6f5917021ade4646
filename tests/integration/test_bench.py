#!/usr/bin/python3
"""The benchmark workloads, briefly and verified, against the server.

Every smbbench workload of bench/compare.py's matrix runs with its --quick sizes and
--verify (a checkable pattern is written and every byte read is compared); smbbench must
exit 0 with no verify failure and no failed operation, and a run that reads must have
checked bytes. The smbclient rows put and get a small file with each of plain, signed and
encrypted SMB3_11 and compare sha256. With SMBTEST_KIND=self a last case runs
`bench/compare.py --quick --verify` end to end against this server and Samba.

Needs SMBBENCH_BIN (and for kind self SMBD_BIN, SMBD_PASSWD_BIN). No timing assertions.

Run: SMBTEST_KIND=samba SMBBENCH_BIN=/abs/smbbench /usr/bin/python3 test_bench.py
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import smbtest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "bench"))
import compare  # noqa: E402

SMBBENCH = os.environ.get("SMBBENCH_BIN")
SMALL = 4 << 20


def _describe(r):
    cmd = " ".join(compare._redact(r.get("cmd") or []))
    return f"\ncommand: {cmd}\n{r.get('output', '')}{r.get('error', '')}"


class Workloads(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not SMBBENCH or not os.access(SMBBENCH, os.X_OK):
            raise RuntimeError("SMBBENCH_BIN must name the smbbench program")
        cls.server = compare.start_server(smbtest.default_kind())
        cls.scratch = tempfile.mkdtemp(prefix="bench-test-", dir=smbtest.scratch_root())
        cls.local = os.path.join(cls.scratch, "local.bin")
        smbtest.make_random_file(cls.local, SMALL)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.scratch, ignore_errors=True)

    def smbbench(self, w):
        r = compare.run_smbbench(SMBBENCH, self.server, w, quick=True, verify=True,
                                 scratch=self.scratch, timeout=180)
        self.assertEqual(r.get("exit"), 0, f"smbbench {w.name} failed" + _describe(r))
        self.assertTrue(r["ok"], f"{w.name}" + _describe(r))
        self.assertEqual(r["verify_failures"], 0, f"{w.name}: verify failures" + _describe(r))
        self.assertEqual(r["errors"], 0, f"{w.name}: failed operations" + _describe(r))
        if w.direction == "read" or w.direction == "write":
            self.assertGreater(r["json"]["verified_bytes"], 0,
                               f"{w.name}: nothing was verified" + _describe(r))
        self.assertGreater(r["json"]["all"]["ops"], 0, f"{w.name}: no operation" + _describe(r))
        # No file is left behind in the share. smbbench's run directory may stay, empty,
        # when it runs on several connections: the first connection removes it with
        # delete-on-close while the others may still be removing their files, and both
        # servers answer that CREATE and CLOSE with success and keep the directory. It is
        # removed here so that the next case starts from an empty share.
        left = []
        for root, dirs, files in os.walk(self.server.share_path):
            left += [os.path.join(root, f) for f in files]
        self.assertEqual(left, [], f"{w.name}: files left in the share")
        for d in os.listdir(self.server.share_path):
            shutil.rmtree(os.path.join(self.server.share_path, d), ignore_errors=True)

    def smbclient(self, w):
        r = compare.run_smbclient(self.server, w, local_file=self.local, size=SMALL,
                                  verify=True, scratch=self.scratch, timeout=120)
        self.assertTrue(r["ok"], f"{w.name}" + _describe(r))


def _case(w):
    if w.tool == "smbbench":
        return lambda self: self.smbbench(w)
    return lambda self: self.smbclient(w)


for _w in compare.WORKLOADS:
    if _w.tool in ("smbbench", "smbclient") and not _w.smb_direct:
        setattr(Workloads, "test_" + _w.name.replace("-", "_"), _case(_w))


@unittest.skipUnless(smbtest.default_kind() == "self",
                     "SMB Direct is this server's (rdmaproxy); Samba has none")
class SmbDirectChannels(unittest.TestCase):
    """smbbench over SMB Direct (rdmaproxy on the software fabric) with READ and WRITE
    through RDMA channels, as a real client moves large I/O, and inline: every byte
    written is read back and compared."""

    @classmethod
    def setUpClass(cls):
        if not SMBBENCH or not os.access(SMBBENCH, os.X_OK):
            raise RuntimeError("SMBBENCH_BIN must name the smbbench program")
        # Log level 3: the channel bindings are logged.
        cls.server = smbtest.Server("self", log_level=3).start()
        cls.rdma_port = cls.server.start_rdmaproxy("soft")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def run_smbbench(self, *args):
        s = self.server
        cmd = [SMBBENCH, f"//127.0.0.1:{self.rdma_port}/{s.share}", "-U",
               f"{s.user}%{s.password}", "--transport", "rdma", "--rdma-fabric", "soft",
               "--quiet", "--verify", "--json", os.path.join(s.base, "smbbench.json")] + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        shown = " ".join(compare._redact(cmd))
        self.assertEqual(p.returncode, 0, f"{shown}\n{p.stdout}\n{p.stderr}")
        with open(os.path.join(s.base, "smbbench.json")) as f:
            j = json.load(f)
        self.assertEqual(j["verify_failures"], 0, shown)
        self.assertEqual(j["errors"], 0, shown)
        self.assertGreater(j["verified_bytes"], 0, shown)
        return j

    def test_rdma_v1_random_read_write(self):
        self.run_smbbench("--rdma-channel", "v1", "--rw", "randrw", "--bs", "64k",
                          "--size", "8M", "--ops", "300", "--iodepth", "4")

    def test_rdma_v1_invalidate_large_blocks(self):
        # 1 MiB blocks: more than an inline READ or WRITE holds over SMB Direct.
        j = self.run_smbbench("--rdma-channel", "v1-invalidate", "--rw", "rw", "--bs", "1M",
                              "--size", "16M", "--ops", "32", "--iodepth", "2")
        self.assertEqual(j["bs"], 1 << 20)

    def test_multichannel_tcp_and_smb_direct_channels(self):
        # One session: a TCP connection, and two SMB Direct channels bound to it, with the
        # jobs spread over all three (same ClientGuid, one worker).
        s = self.server
        cmd = [SMBBENCH, f"//127.0.0.1:{s.port}/{s.share}", "-U", f"{s.user}%{s.password}",
               "--multichannel", "--rdma-connections", "2", "--rdma-port", str(self.rdma_port),
               "--rdma-fabric", "soft", "--rdma-channel", "v1", "--jobs", "3", "--rw", "randrw",
               "--bs", "256k", "--size", "8M", "--ops", "240", "--iodepth", "2", "--quiet",
               "--verify", "--json", os.path.join(s.base, "multichannel.json")]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        shown = " ".join(compare._redact(cmd))
        self.assertEqual(p.returncode, 0, f"{shown}\n{p.stdout}\n{p.stderr}")
        with open(os.path.join(s.base, "multichannel.json")) as f:
            j = json.load(f)
        self.assertTrue(j["multichannel"])
        self.assertEqual(j["connections"], 3)
        self.assertEqual(j["verify_failures"], 0)
        self.assertGreater(j["verified_bytes"], 0)
        # The SMB Direct channels were bound to the TCP connection's session, not logged on
        # separately.
        self.assertGreaterEqual(s.log_text().count("connection bound to the session of"), 2)

    def test_inline_and_a_refused_block_size(self):
        self.run_smbbench("--rw", "randrw", "--bs", "16k", "--size", "4M", "--ops", "200",
                          "--iodepth", "4")
        s = self.server
        p = subprocess.run([SMBBENCH, f"//127.0.0.1:{self.rdma_port}/{s.share}", "-U",
                            f"{s.user}%{s.password}", "--transport", "rdma",
                            "--rdma-fabric", "soft", "--quiet", "--bs", "1M", "--size", "4M",
                            "--ops", "4"], capture_output=True, text=True, timeout=120)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("inline over SMB Direct", p.stderr + p.stdout)


@unittest.skipUnless(smbtest.default_kind() == "self",
                     "the comparison runs with SMBTEST_KIND=self (it starts both servers)")
class CompareScript(unittest.TestCase):
    def test_quick_comparison_end_to_end(self):
        out = tempfile.mkdtemp(prefix="bench-compare-", dir=smbtest.scratch_root())
        try:
            md, js = os.path.join(out, "benchmarks.md"), os.path.join(out, "results.json")
            env = dict(os.environ, SMBBENCH_BIN=SMBBENCH or "")
            cmd = [sys.executable, os.path.join(REPO, "bench", "compare.py"), "--quick",
                   "--verify", "--no-build", "--out", md, "--json", js]
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
            except subprocess.TimeoutExpired as e:
                self.fail(f"compare.py timed out: {e.stdout}\n{e.stderr}")
            # compare.py exits non-zero when any run failed; every row is checked here too.
            self.assertEqual(p.returncode, 0, f"{' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
            with open(md) as f:
                text = f.read()
            for heading in ("## Machine", "## Results", "## Every run"):
                self.assertIn(heading, text)
            with open(js) as f:
                raw = json.load(f)
            if not os.access(compare.SMBTORTURE, os.X_OK):
                smbtest.unavailable(self, "smbtorture is not installed: its rows were not run")
            for kind in compare.KINDS:
                for w in compare.WORKLOADS:
                    if w.smb_direct and kind != "self":
                        continue  # SMB Direct is this server's only
                    runs = raw["results"][kind][w.name]
                    self.assertEqual(len(runs), 1, f"{kind} {w.name}")
                    self.assertTrue(runs[0]["ok"], f"{kind} {w.name}: {runs[0]}")
            sys.stdout.write(p.stdout[-4000:])
        finally:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    smbtest.main()
