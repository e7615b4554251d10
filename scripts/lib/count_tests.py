#!/usr/bin/env python3
"""Sums doctest case counts from a meson testlog.json.

Usage: count_tests.py TESTLOG LABEL
Prints "PASSED FAILED" on the first line, then one line per test program. A
program that ended without doctest's summary (a crash, a timeout) counts as one
failed test; so does a program that failed although its summary shows none.
"""
import json, re, sys

SUMMARY = re.compile(r"\[doctest\] test cases:\s*(\d+) \|\s*(\d+) passed \|\s*(\d+) failed")


def main():
    path, label = sys.argv[1], sys.argv[2]
    passed = failed = 0
    lines = []
    with open(path, encoding="utf-8") as f:
        for raw in f:
            t = json.loads(raw)
            out = (t.get("stdout") or "") + (t.get("stderr") or "")
            m = None
            for m in SUMMARY.finditer(out):
                pass
            ok = t.get("result") == "OK"
            if m:
                p, fl = int(m.group(2)), int(m.group(3))
                if not ok and fl == 0:
                    fl = 1
            else:
                p, fl = (1, 0) if ok else (0, 1)
            passed += p
            failed += fl
            lines.append(f"{label}: {t['name']}: {p} passed, {fl} failed ({t.get('result')}, {t.get('duration', 0):.1f} s)")
    print(passed, failed)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
