#!/usr/bin/python3
"""Run smbtorture suites against a server and compare with what is expected of them.

  run_smbtorture.py [--kind self|samba] [--suite smb2.read ...] [--out DIR]
                    [--timeout SECONDS] [--expected FILE] [--markdown FILE]
                    [--print-expected] [--kerberos]

Each suite gets a fresh server (Server(torture=True)) and runs under a timeout. The
subunit stream is parsed into pass/fail/skip per test; DIR/<kind>/<suite>.json holds the
result of one suite (DIR/<kind>/<suite>.subunit smbtorture's own output) and
DIR/<kind>/smbtorture.md (or --markdown) the table of every suite run so far in DIR,
meant for docs/smbtorture.md.

With --kerberos smbtorture logs on with Kerberos (-k yes): a realm of the run's own
(krb5realm.py), the server given a keytab for it, and the results in DIR/<kind>-kerberos.
Samba's smbd in standalone mode takes no Kerberos, so this runs against our server only.

What is expected is in smbtorture-expected-failures.txt for our server,
smbtorture-expected-failures-kerberos.txt for it with Kerberos, and
smbtorture-expected-failures-samba.txt for Samba, one entry a line:

  fail NAME | REASON | WHY    NAME fails, and what smbtorture prints for it contains REASON
                              (the NT status or the assertion line of its first line)
  skip NAME | REASON | WHY    smbtorture skips NAME, saying REASON
  count SUITE N               smbtorture reports N tests in SUITE (passed, failed, skipped)

A suite fails when a test fails that is not listed, fails with another reason, or skips
without being listed; when a listed failure or skip now passes, is reported otherwise, or
is not reported at all (the list must then be updated); when the number of tests differs
from the recorded count (a crash or a timeout cut the suite short); when it times out;
and when a server process died of a signal or left a sanitizer report (smbtest's health
check). --print-expected prints the entries that describe this run, for updating a list.
"""

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import krb5realm
import smbtest

HERE = os.path.dirname(os.path.abspath(__file__))
SMBTORTURE = "/usr/bin/smbtorture"
DEFAULT_SUITES = ["smb2.connect", "smb2.read", "smb2.rw", "smb2.getinfo", "smb2.dir",
                  "smb2.compound", "smb2.credits", "smb2.session", "smb2.multichannel",
                  "smb2.lock", "smb2.acls", "smb2.create", "smb2.setinfo", "smb2.streams",
                  "smb2.ioctl", "smb2.oplock", "smb2.lease", "smb2.sharemode", "smb2.rename",
                  "smb2.delete-on-close-perms", "smb2.durable-open", "smb2.durable-v2-open"]
# Suites with NT ACL subtests run on a share that stores ACLs, on both servers (Samba's
# torture share has acl_xattr whenever the module is installed, see smbtest.Server); the
# other suites keep this server's mode view (docs/security.md).
ACL_XATTR_SUITES = ("smb2.acls", "smb2.create", "smb2.compound", "smb2.session",
                    "smb2.delete-on-close-perms")
# Every torture share of this server keeps named streams, as Samba's has streams_xattr
# (smbtest.Server): the stream subtests of every suite run against them.
# smb2.notify per subtest, as tests/integration/CMakeLists.txt registers them.
DEFAULT_SUITES += [f"smb2.notify.{t}" for t in (
    "tcon", "dir", "tdis", "tdis1", "close", "logoff", "invalid-reauth", "tree",
    "basedir", "double", "file", "tcp", "rec", "overflow", "handle-permissions", "rmdir1",
    "rmdir2", "rmdir3", "rmdir4", "mask-change", "valid-req")]
# Suites that take more than about a minute whole run these subtests only, unless --full
# is given (docs/smbtorture.md lists what is left out and why): smb2.oplock without
# batch22a (it waits out a 35-second break timeout), smb2.lease without the tests that
# wait out break timeouts (timeout, timeout-disconnect) or loop over every state pair
# (oplock, break), and without dynamic_share (needs a share Samba builds per user).
CI_SUBTESTS = {
    "smb2.oplock": [
        "exclusive1", "exclusive2", "exclusive3", "exclusive4", "exclusive5", "exclusive6",
        "exclusive9", "batch1", "batch2", "batch3", "batch4", "batch5", "batch6", "batch7",
        "batch8", "batch9", "batch9a", "batch10", "batch11", "batch12", "batch13",
        "batch14", "batch15", "batch16", "batch19", "batch20", "batch21", "batch22b",
        "batch23", "batch24", "batch25", "batch26", "stream1", "doc", "brl1", "brl2",
        "brl3", "levelii500", "levelii501", "levelii502", "statopen1"],
    "smb2.lease": [
        "request", "break_twice", "nobreakself", "statopen", "statopen2", "statopen3",
        "statopen4", "upgrade", "upgrade2", "upgrade3", "multibreak", "breaking1",
        "breaking2", "breaking3", "v2_breaking3", "breaking4", "breaking5", "breaking6",
        "lock1", "complex1", "v2_request_parent", "v2_request", "v2_epoch1", "v2_epoch2",
        "v2_epoch3", "v2_complex1", "v2_complex2", "v2_rename", "unlink", "rename_wait",
        "duplicate_create", "duplicate_open", "v1_bug15148", "v2_bug15148"],
}
EXPECTED_FILES = {"self": "smbtorture-expected-failures.txt",
                  "samba": "smbtorture-expected-failures-samba.txt",
                  "self-kerberos": "smbtorture-expected-failures-kerberos.txt"}


class Expected:
    """The expectations of one kind: failures and skips {name: (reason, why)}, and the
    number of tests of each suite {suite: n}."""

    def __init__(self):
        self.fail, self.skip, self.count = {}, {}, {}


def load_expected(path):
    """Reads an expectations file (see the module's description); '#' starts a comment."""
    expected = Expected()
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            kind, _, rest = line.partition(" ")
            if kind == "count":
                suite, _, n = rest.strip().partition(" ")
                expected.count[suite] = int(n)
                continue
            fields = [x.strip() for x in rest.split(" | ")]
            if kind not in ("fail", "skip") or len(fields) != 3 or not all(fields[:2]):
                raise SystemExit(f"{path}:{number}: expected 'fail|skip NAME | REASON | WHY' "
                                 f"or 'count SUITE N': {line}")
            getattr(expected, kind)[fields[0]] = (fields[1], fields[2])
    return expected


def in_suite(name, suite):
    return name == suite or name.startswith(suite + ".")


def first_line(reason):
    """The line of a reason that says what failed: smbtorture's assertion line."""
    return next((ln.strip() for ln in reason.splitlines() if ln.strip()), "")


def full_name(suite, name):
    """smbtorture names a test by its last part; a suite that is one subtest
    (smb2.notify.dir) is the test's whole name."""
    return suite if suite.rsplit(".", 1)[-1] == name else f"{suite}.{name}"


def parse_subunit(text, suite):
    """Outcomes from smbtorture's subunit v1 stream: [{name, result, reason}].

    result is pass, fail (failure, error, uxsuccess), skip, xfail, or fail with reason
    'no result' for a test that started and never finished."""
    results, started = [], []
    outcome = {"success": "pass", "successful": "pass", "failure": "fail", "error": "fail",
               "skip": "skip", "xfail": "xfail", "uxsuccess": "fail"}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        head, sep, rest = line.partition(": ")
        if not sep:
            continue
        if head == "test":
            started.append(rest.strip())
            continue
        if head not in outcome:
            continue
        name, reason = rest.strip(), ""
        if name.endswith("["):
            name = name[:-1].strip()
            detail = []
            while i < len(lines) and lines[i] != "]":
                detail.append(lines[i])
                i += 1
            i += 1
            reason = "\n".join(detail).strip()
        results.append({"name": full_name(suite, name), "result": outcome[head],
                        "reason": reason})
        if name in started:
            started.remove(name)
    for name in started:
        results.append({"name": full_name(suite, name), "result": "fail", "reason": "no result"})
    return results


def run_suite(suite, kind, timeout, expected, kind_dir, realm=None, full=False):
    # smb encrypt is left at the server default: the session suite asks for encryption.
    opts = {"torture": True, "kind": kind, "encrypt": None}
    if kind == "self":
        opts["extra_share"] = ["vfs objects = streams_xattr"]
    if kind == "self" and any(in_suite(suite, s) for s in ACL_XATTR_SUITES):
        opts["extra_share"] = ["vfs objects = acl_xattr streams_xattr"]
        # The share smb2.acls.ACCESSBASED lists, as Samba's torture configuration has it.
        opts["extra_shares"] = {"hideunread": ["path = %(base)s/share", "read only = no",
                                               "vfs objects = acl_xattr streams_xattr",
                                               "hide unreadable = yes"]}
    host, env, logon = None, None, []
    if realm is not None:
        keytab = realm.keytab(krb5realm.SERVICE, f"{suite}.keytab")
        opts["extra_global"] = krb5realm.server_options(keytab)
        os.environ["KRB5_CONFIG"] = realm.conf  # the server's
        os.environ["KRB5RCACHEDIR"] = realm.dir
        host, env = krb5realm.HOST, realm.client_env()
        logon = ["--use-kerberos=required", f"--realm={krb5realm.REALM}"]
    start = time.monotonic()
    server = smbtest.Server(**opts).start()
    try:
        if realm is not None:
            # smbtorture gets its own tickets with the user's password, as often as it
            # re-authenticates (the expire tests ask for 4-second tickets).
            principals = realm.kadmin("listprincs").stdout.split()
            verb = "cpw" if f"{server.user}@{krb5realm.REALM}" in principals else "addprinc"
            realm.kadmin(f"{verb} -pw {server.password} {server.user}")
        cmd = ["timeout", "-k", "10", str(timeout), SMBTORTURE,
               f"//{host or server.host}/{server.share}", "-p", str(server.port),
               "-U", f"{server.user}%{server.password}", "--configfile", server.client_conf,
               *logon, "--format=subunit", "--option=torture:sharedelay=100000",
               "--option=torture:writetimeupdatedelay=500000",
               *([f"{suite}.{name}" for name in CI_SUBTESTS[suite]]
                 if suite in CI_SUBTESTS and not full else [suite])]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=server.client_dir,
                              timeout=timeout + 60, env=env)
        server_alive = server.alive()
        log_tail = server.log_tail(80)
    finally:
        # The health check: a server process that died of a signal or a sanitizer report
        # fails the suite, whatever smbtorture saw.
        server.stop(check=False)
    duration = time.monotonic() - start
    write_atomically(os.path.join(kind_dir, f"{suite}.subunit"), proc.stdout + proc.stderr)
    timed_out = proc.returncode in (124, 137)
    tests = parse_subunit(proc.stdout, suite)
    if timed_out:
        for t in tests:
            if t["reason"] == "no result":
                t["reason"] = f"suite timed out after {timeout}s"
    problems = check_suite(suite, tests, expected)
    for t in tests:
        listed = (expected.fail if t["result"] == "fail" else expected.skip).get(t["name"])
        t["expected"] = listed is not None and listed[0] in t["reason"]
        if listed:
            t["expected_reason"], t["why"] = listed
    counts = {k: sum(1 for t in tests if t["result"] == k)
              for k in ("pass", "fail", "skip", "xfail")}
    if timed_out:
        problems.append(f"timed out after {timeout}s")
    if not tests:
        problems.append(f"no test reported (smbtorture exit {proc.returncode})")
    if not server_alive:
        problems.append("the server was not running at the end of the suite")
    problems += [f"server process crashed: {p}" for p in server.problems]
    return {
        "suite": suite, "kind": kind, "duration_s": round(duration, 2),
        "smbtorture_exit": proc.returncode, "timed_out": timed_out, "counts": counts,
        "total": len(tests), "problems": problems, "tests": tests,
        "stderr_tail": proc.stderr[-4000:], "server_log_tail": log_tail,
        "ok": not problems,
    }


def check_suite(suite, tests, expected):
    """Every way the suite's outcome differs from its expectations, as text."""
    problems = []
    seen = {t["name"]: t for t in tests}
    for t in tests:
        name, result, reason = t["name"], t["result"], t["reason"]
        if result in ("fail", "skip", "xfail"):
            table = expected.fail if result == "fail" else expected.skip
            word = "failure" if result == "fail" else "skip"
            if name not in table:
                problems.append(f"unexpected {word} {name}: {first_line(reason)[:300]}")
            elif table[name][0] not in reason:
                problems.append(f"{name} {'fails' if result == 'fail' else 'skips'} for another "
                                f"reason: expected {table[name][0]!r}, got "
                                f"{first_line(reason)[:300]!r}")
        for table, word in ((expected.fail, "failure"), (expected.skip, "skip")):
            if name in table and result != ("fail" if table is expected.fail else "skip") \
                    and not (table is expected.skip and result == "xfail"):
                problems.append(f"{name} is listed as an expected {word} but was reported "
                                f"{result}: update the list")
    for table, word in ((expected.fail, "failure"), (expected.skip, "skip")):
        for name in table:
            if in_suite(name, suite) and name not in seen:
                problems.append(f"{name} is listed as an expected {word} but smbtorture did not "
                                "report it (the suite was cut short, or the entry is stale)")
    if suite not in expected.count:
        problems.append(f"no recorded count of tests for {suite} (this run reported "
                        f"{len(tests)}): add 'count {suite} {len(tests)}'")
    elif len(tests) != expected.count[suite]:
        problems.append(f"{suite} reported {len(tests)} tests, {expected.count[suite]} expected "
                        "(a crash or a timeout cuts a suite short)")
    return problems


def print_expected(res, expected):
    """The entries that describe this run of one suite, the explanations of the current
    list kept where it has one."""
    for t in res["tests"]:
        if t["result"] not in ("fail", "skip", "xfail"):
            continue
        kind = "fail" if t["result"] == "fail" else "skip"
        why = getattr(expected, kind).get(t["name"], ("", "WHY"))[1]
        print(f"{kind} {t['name']} | {first_line(t['reason'])} | {why}")
    print(f"count {res['suite']} {res['total']}")


def write_markdown(kind_dir, path):
    rows = []
    for jf in sorted(glob.glob(os.path.join(kind_dir, "*.json"))):
        with open(jf) as f:
            rows.append(json.load(f))
    if not rows:
        return
    kind = rows[0]["kind"]
    server = "this project's smbd" if kind == "self" else "Samba's smbd (reference)"
    if kind_dir.rstrip("/").endswith("-kerberos"):
        server += ", logging on with Kerberos"
    out = [f"# smbtorture against {server}", "",
           "Generated by tests/integration/run_smbtorture.py; each suite runs against a fresh "
           "server on 127.0.0.1 with a tmpfs share.", "",
           "| suite | pass | fail | skip | xfail | total | expected failures | "
           "unexpected failures | time (s) | status |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        c = r["counts"]
        exp = sum(1 for t in r["tests"] if t["result"] == "fail" and t.get("expected"))
        unexp = sum(1 for t in r["tests"] if t["result"] == "fail" and not t.get("expected"))
        status = "ok" if r["ok"] else "FAILED" + (f" ({'; '.join(r['problems'])})"
                                                   if r["problems"] else "")
        out.append(f"| {r['suite']} | {c['pass']} | {c['fail']} | {c['skip']} | {c['xfail']} "
                   f"| {r['total']} | {exp} | {unexp} "
                   f"| {r['duration_s']} | {status} |")
    out += ["", "## Tests that do not pass", ""]
    any_fail = False
    for r in rows:
        for t in r["tests"]:
            if t["result"] in ("fail", "skip", "xfail"):
                any_fail = True
                why = t.get("why") if t.get("expected") else None
                first = first_line(t["reason"]).replace("|", "\\|")[:160]
                mark = "expected" if t.get("expected") else (
                    "UNEXPECTED" if t["result"] == "fail" else f"{t['result']}, not listed")
                out.append(f"- `{t['name']}` {t['result']} ({mark}){': ' + why if why else ''}"
                           f"{' — ' + first if first else ''}")
    if not any_fail:
        out.append("None.")
    write_atomically(path, "\n".join(out) + "\n")


def write_atomically(path, text):
    """Suites of one directory may run in parallel: readers never see half a file."""
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kind", default=None, help="self or samba (default SMBTEST_KIND/self)")
    ap.add_argument("--suite", action="append", help="suite to run (repeatable); default: "
                    + " ".join(DEFAULT_SUITES))
    ap.add_argument("--out", default=os.environ.get("SMBTEST_WORKDIR", "smbtorture-results"))
    ap.add_argument("--timeout", type=int, default=240, help="seconds per suite")
    ap.add_argument("--expected", help="expected-failures file (default by kind)")
    ap.add_argument("--markdown", help="write the table here too (e.g. docs/smbtorture.md)")
    ap.add_argument("--print-expected", action="store_true",
                    help="print the list entries (fail, skip, count) that describe this run")
    ap.add_argument("--full", action="store_true",
                    help="run the whole suite even where CI runs chosen subtests")
    ap.add_argument("--kerberos", action="store_true",
                    help="log on with Kerberos, in a realm of the run's own (self only)")
    args = ap.parse_args()
    kind = args.kind or smbtest.default_kind()
    suites = args.suite or DEFAULT_SUITES
    if args.kerberos and kind != "self":
        ap.error("--kerberos runs against this project's smbd only")
    label = f"{kind}-kerberos" if args.kerberos else kind
    expected_path = args.expected or os.path.join(HERE, EXPECTED_FILES[label])
    expected = load_expected(expected_path)
    kind_dir = os.path.join(args.out, label)
    os.makedirs(kind_dir, exist_ok=True)

    realm = None
    if args.kerberos:
        missing = krb5realm.missing_tools()
        if missing or not os.path.exists(krb5realm.NSS_WRAPPER):
            print(f"cannot run with Kerberos: missing {missing or krb5realm.NSS_WRAPPER}",
                  file=sys.stderr)
            return 1
        realm = krb5realm.Realm(tempfile.mkdtemp(prefix="smbtorture-krb5-"))
        os.chmod(realm.dir, 0o755)
        realm.start()
        realm.kadmin(f"addprinc -randkey {krb5realm.SERVICE}")
    try:
        return run_suites(args, suites, kind, expected, kind_dir, realm)
    finally:
        if realm is not None:
            realm.stop()
            shutil.rmtree(realm.dir, ignore_errors=True)


def run_suites(args, suites, kind, expected, kind_dir, realm):
    ok = True
    for suite in suites:
        try:
            res = run_suite(suite, kind, args.timeout, expected, kind_dir, realm,
                            full=args.full)
        except (smbtest.ServerError, subprocess.TimeoutExpired) as e:
            print(f"{suite}: could not run: {e}", file=sys.stderr)
            ok = False
            continue
        write_atomically(os.path.join(kind_dir, f"{suite}.json"), json.dumps(res, indent=1))
        c = res["counts"]
        print(f"{suite}: {c['pass']} pass, {c['fail']} fail, {c['skip']} skip, "
              f"{c['xfail']} xfail of {res['total']} in {res['duration_s']}s "
              f"({kind}) {'ok' if res['ok'] else 'FAILED'}")
        for p in res["problems"]:
            print(f"  PROBLEM: {p}")
        if args.print_expected:
            print_expected(res, expected)
        if not res["ok"]:
            ok = False
            sys.stdout.write(f"  smbtorture stderr (tail):\n{res['stderr_tail'][-1500:]}\n"
                             f"  server log (tail):\n{res['server_log_tail']}\n")
    write_markdown(kind_dir, os.path.join(kind_dir, "smbtorture.md"))
    if args.markdown:
        write_markdown(kind_dir, args.markdown)
    print(f"results: {kind_dir}/ (JSON per suite, smbtorture.md)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
