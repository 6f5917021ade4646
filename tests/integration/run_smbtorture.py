#!/usr/bin/python3
"""Run smbtorture suites against a server and compare with the expected failures.

  run_smbtorture.py [--kind self|samba] [--suite smb2.read ...] [--out DIR]
                    [--timeout SECONDS] [--expected FILE] [--markdown FILE]

Each suite gets a fresh server (Server(torture=True)) and runs under a timeout. The
subunit stream is parsed into pass/fail/skip per test; DIR/<kind>/<suite>.json holds the
result of one suite and DIR/<kind>/smbtorture.md (or --markdown) the table of every suite
run so far in DIR, meant for docs/smbtorture.md.

The exit status is 1 when a test fails that the expected-failures file does not list
(smbtorture-expected-failures.txt for our server, smbtorture-expected-failures-samba.txt
for Samba), when a suite times out, or when smbtorture ends without reporting a test.
Listed tests that pass are reported so the list can shrink.
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import time

import smbtest

HERE = os.path.dirname(os.path.abspath(__file__))
SMBTORTURE = "/usr/bin/smbtorture"
DEFAULT_SUITES = ["smb2.connect", "smb2.read", "smb2.rw", "smb2.getinfo", "smb2.dir",
                  "smb2.compound", "smb2.credits", "smb2.session"]
EXPECTED_FILES = {"self": "smbtorture-expected-failures.txt",
                  "samba": "smbtorture-expected-failures-samba.txt"}


def load_expected(path):
    """{test name: reason} from lines `name  reason`; '#' starts a comment."""
    expected = {}
    if not os.path.exists(path):
        return expected
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 1)
            expected[parts[0]] = parts[1] if len(parts) > 1 else ""
    return expected


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
        results.append({"name": f"{suite}.{name}", "result": outcome[head], "reason": reason})
        if name in started:
            started.remove(name)
    for name in started:
        results.append({"name": f"{suite}.{name}", "result": "fail", "reason": "no result"})
    return results


def run_suite(suite, kind, timeout, expected):
    # smb encrypt is left at the server default: the session suite asks for encryption.
    opts = {"torture": True, "kind": kind, "encrypt": None}
    start = time.monotonic()
    with smbtest.Server(**opts) as server:
        cmd = ["timeout", "-k", "10", str(timeout), SMBTORTURE,
               f"//{server.host}/{server.share}", "-p", str(server.port),
               "-U", f"{server.user}%{server.password}", "--configfile", server.client_conf,
               "--format=subunit", "--option=torture:sharedelay=100000",
               "--option=torture:writetimeupdatedelay=500000", suite]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=server.client_dir,
                              timeout=timeout + 60)
        server_alive = server.alive()
        log_tail = server.log_tail(80)
    duration = time.monotonic() - start
    timed_out = proc.returncode in (124, 137)
    tests = parse_subunit(proc.stdout, suite)
    for t in tests:
        t["expected_failure"] = t["name"] in expected
        if t["expected_failure"]:
            t["expected_reason"] = expected[t["name"]]
    if timed_out:
        for t in tests:
            if t["reason"] == "no result":
                t["reason"] = f"suite timed out after {timeout}s"
    counts = {k: sum(1 for t in tests if t["result"] == k)
              for k in ("pass", "fail", "skip", "xfail")}
    unexpected = [t["name"] for t in tests if t["result"] == "fail" and not t["expected_failure"]]
    fixed = [t["name"] for t in tests if t["result"] == "pass" and t["expected_failure"]]
    problems = []
    if timed_out:
        problems.append(f"timed out after {timeout}s")
    if not tests:
        problems.append(f"no test reported (smbtorture exit {proc.returncode})")
    if not server_alive:
        problems.append("the server was not running at the end of the suite")
    return {
        "suite": suite, "kind": kind, "duration_s": round(duration, 2),
        "smbtorture_exit": proc.returncode, "timed_out": timed_out, "counts": counts,
        "total": len(tests), "unexpected_failures": unexpected, "fixed": fixed,
        "problems": problems, "tests": tests,
        "stderr_tail": proc.stderr[-4000:], "server_log_tail": log_tail,
        "ok": not unexpected and not problems,
    }


def write_markdown(kind_dir, path):
    rows = []
    for jf in sorted(glob.glob(os.path.join(kind_dir, "*.json"))):
        with open(jf) as f:
            rows.append(json.load(f))
    if not rows:
        return
    kind = rows[0]["kind"]
    server = "this project's smbd" if kind == "self" else "Samba's smbd (reference)"
    out = [f"# smbtorture against {server}", "",
           "Generated by tests/integration/run_smbtorture.py; each suite runs against a fresh "
           "server on 127.0.0.1 with a tmpfs share.", "",
           "| suite | pass | fail | skip | xfail | total | expected failures | "
           "unexpected failures | time (s) | status |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        c = r["counts"]
        exp = sum(1 for t in r["tests"] if t["result"] == "fail" and t["expected_failure"])
        status = "ok" if r["ok"] else "FAILED" + (f" ({'; '.join(r['problems'])})"
                                                   if r["problems"] else "")
        out.append(f"| {r['suite']} | {c['pass']} | {c['fail']} | {c['skip']} | {c['xfail']} "
                   f"| {r['total']} | {exp} | {len(r['unexpected_failures'])} "
                   f"| {r['duration_s']} | {status} |")
    out += ["", "## Tests that do not pass", ""]
    any_fail = False
    for r in rows:
        for t in r["tests"]:
            if t["result"] in ("fail", "skip", "xfail"):
                any_fail = True
                why = t.get("expected_reason") if t["expected_failure"] else None
                first = (t["reason"].splitlines() or [""])[0].replace("|", "\\|")[:160]
                mark = "expected" if t["expected_failure"] else (
                    "UNEXPECTED" if t["result"] == "fail" else t["result"])
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
    args = ap.parse_args()
    kind = args.kind or smbtest.default_kind()
    suites = args.suite or DEFAULT_SUITES
    expected_path = args.expected or os.path.join(HERE, EXPECTED_FILES[kind])
    expected = load_expected(expected_path)
    kind_dir = os.path.join(args.out, kind)
    os.makedirs(kind_dir, exist_ok=True)

    ok = True
    for suite in suites:
        try:
            res = run_suite(suite, kind, args.timeout, expected)
        except (smbtest.ServerError, subprocess.TimeoutExpired) as e:
            print(f"{suite}: could not run: {e}", file=sys.stderr)
            ok = False
            continue
        write_atomically(os.path.join(kind_dir, f"{suite}.json"), json.dumps(res, indent=1))
        c = res["counts"]
        print(f"{suite}: {c['pass']} pass, {c['fail']} fail, {c['skip']} skip, "
              f"{c['xfail']} xfail of {res['total']} in {res['duration_s']}s "
              f"({kind}) {'ok' if res['ok'] else 'FAILED'}")
        for name in res["unexpected_failures"]:
            t = next(t for t in res["tests"] if t["name"] == name)
            print(f"  UNEXPECTED FAILURE {name}: {t['reason'][:500]}")
        for name in res["fixed"]:
            print(f"  passes although listed in {os.path.basename(expected_path)}: {name}")
        for p in res["problems"]:
            print(f"  PROBLEM: {p}")
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
