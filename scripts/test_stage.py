# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one stage of `make test` and record its outcome; print the summary of all stages.

  python scripts/test_stage.py run NAME [--junit PATH ...] -- COMMAND ...
      Runs COMMAND (output goes straight through), then records exit status, wall time and,
      for pytest stages, the counts from the JUnit XML files (a glob each) in
      .build/results/NAME.json. A pytest stage that ran no test fails, whatever pytest's exit
      status (pytest exits 5 when it collects nothing; ansible-test units exits 0).
      Exits with the stage's status (always 0 when KEYWARD_STAGE_KEEP_GOING is set: then the
      summary decides).

  python scripts/test_stage.py summary [--line] NAME ...
      One line per expected stage, then the total `N passed, N failed` on a line of its own,
      last. Failed counts failed and erroring pytest tests, plus one for each stage that
      failed without a failing test to show for it (sanity, a crash, no tests, not run at
      all), so `0 failed` means that every stage passed. --line prints the total line only.
      Exits 1 when anything failed.

  python scripts/test_stage.py clear
      Forget the results of earlier runs.

Standard library only: it runs with the base Python as well as in any virtualenv.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, ".build", "results")


def junit_counts(patterns):
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "files": 0}
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            root = ET.parse(path).getroot()
            suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
            for suite in suites:
                for key in ("tests", "failures", "errors", "skipped"):
                    counts[key] += int(suite.get(key, 0) or 0)
            counts["files"] += 1
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    return counts


def run(argv):
    name, junit, command = argv[0], [], []
    rest = argv[1:]
    while rest:
        arg = rest.pop(0)
        if arg == "--junit":
            junit.append(os.path.abspath(rest.pop(0)))
        elif arg == "--":
            command = rest
            break
        else:
            raise SystemExit("unexpected argument: %s" % arg)
    if not command:
        raise SystemExit("no command given")
    os.makedirs(RESULTS, exist_ok=True)
    for pattern in junit:
        for path in glob.glob(pattern):
            os.unlink(path)

    print("==> %s: %s" % (name, " ".join(command)), flush=True)
    start = time.monotonic()
    try:
        rc = subprocess.call(command)
    except OSError as exc:
        print("==> %s: cannot run %s: %s" % (name, command[0], exc), flush=True)
        rc = 127
    seconds = time.monotonic() - start

    record = {"name": name, "rc": rc, "seconds": round(seconds, 1), "ok": rc == 0, "note": ""}
    if junit:
        counts = junit_counts(junit)
        record["pytest"] = counts
        if counts["tests"] == 0:
            record["ok"] = False
            record["note"] = "no tests ran" + (" (pytest exit status 5)" if rc == 5 else "")
            if rc == 0:
                rc = 1
        elif counts["failures"] or counts["errors"]:
            record["ok"] = False
    if not record["ok"] and not record["note"] and rc:
        record["note"] = "exit status %d" % rc
    with open(os.path.join(RESULTS, name + ".json"), "w", encoding="utf-8") as handle:
        json.dump(record, handle)
    note = (", " + record["note"]) if record["note"] else ""
    print("==> %s: %s in %.0fs%s" % (name, "ok" if record["ok"] else "FAILED", seconds, note), flush=True)
    if os.environ.get("KEYWARD_STAGE_KEEP_GOING"):
        # `make test`: the summary decides the outcome; a failed stage must not stop the stages
        # that make would otherwise skip after it.
        return 0
    return rc if rc else (0 if record["ok"] else 1)


def summary(argv):
    line_only = "--line" in argv
    names = [arg for arg in argv if arg != "--line"]
    passed = failed = 0
    lines = []
    for name in names:
        path = os.path.join(RESULTS, name + ".json")
        if not os.path.exists(path):
            failed += 1
            lines.append("%-26s %7s  NOT RUN" % (name, ""))
            continue
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
        counts = record.get("pytest")
        detail = ""
        if counts:
            passed += counts["passed"]
            failed += counts["failures"] + counts["errors"]
            detail = "%d passed, %d failed, %d skipped" % (counts["passed"], counts["failures"] + counts["errors"], counts["skipped"])
        if not record["ok"] and not (counts and counts["failures"] + counts["errors"]):
            failed += 1
        status = "ok" if record["ok"] else "FAILED"
        text = "; ".join(part for part in (detail, record.get("note")) if part)
        lines.append("%-26s %6.0fs  %-6s  %s" % (name, record["seconds"], status, text))
    if not line_only:
        print("==> summary (stage, wall time, status, pytest counts)")
        for line in lines:
            print(line)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def clear():
    for path in glob.glob(os.path.join(RESULTS, "*.json")):
        os.unlink(path)
    return 0


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("run", "summary", "clear"):
        raise SystemExit(__doc__)
    if sys.argv[1] == "run":
        return run(sys.argv[2:])
    if sys.argv[1] == "summary":
        return summary(sys.argv[2:])
    return clear()


if __name__ == "__main__":
    sys.exit(main())
