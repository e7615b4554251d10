#!/usr/bin/env python3
"""Mutation check: break one Raft rule at a time and show which tests catch it.

Usage: python3 tests/mutations/run.py [--seeds N] [--tests test_sim,...] [name-substring]
Copies the tree to a scratch directory, builds the core tests there once, then
for each mutation in mutations.txt applies it, rebuilds, runs the simulator
sweep, the paper tests and the scenario tests, and reports which failed. A
mutation that no test catches makes the script exit 1.
"""
import os, shutil, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TESTS = ["test_sim", "test_core_paper", "test_scenario", "test_core_snapshot"]


def parse(path):
    muts, cur = [], None
    for raw in open(path, encoding="utf-8").read().split("\n== ")[1:]:
        lines = raw.split("\n")
        name, file = lines[0].strip(), lines[1].strip()
        body = "\n".join(lines[2:]).strip("\n")
        old, new = body.split("\n--->\n")
        muts.append((name, file, old.rstrip("\n"), new.rstrip("\n")))
    return muts


def main():
    args = sys.argv[1:]
    seeds = "1000"
    if "--seeds" in args:
        i = args.index("--seeds")
        seeds = args[i + 1]
        del args[i:i + 2]
    tests = TESTS
    if "--tests" in args:
        i = args.index("--tests")
        tests = args[i + 1].split(",")
        del args[i:i + 2]
    only = args[0] if args else ""
    scratch = tempfile.mkdtemp(prefix="raftkv-mut-")
    src = os.path.join(scratch, "src")
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns("build*", ".git"))
    build = os.path.join(scratch, "build")
    subprocess.run(["meson", "setup", build, src, "--wrap-mode=nodownload"], check=True,
                   stdout=subprocess.DEVNULL)
    uncaught = 0
    for name, file, old, new in parse(os.path.join(HERE, "mutations.txt")):
        if only and only not in name:
            continue
        path = os.path.join(src, file)
        original = open(path, encoding="utf-8").read()
        if original.count(old) != 1:
            print(f"?? {name}: the text to mutate is not found exactly once in {file}")
            uncaught += 1
            continue
        open(path, "w", encoding="utf-8").write(original.replace(old, new))
        try:
            subprocess.run(["ninja", "-C", build] + [f"tests/{t}" for t in tests], check=True,
                           stdout=subprocess.DEVNULL)
            caught = []
            env = dict(os.environ, RAFTKV_SIM_SEEDS=seeds)
            for t in tests:
                r = subprocess.run([os.path.join(build, "tests", t)], env=env, cwd=build,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
                if r.returncode != 0:
                    caught.append(t)
            print(f"{'caught' if caught else 'MISSED'}: {name}: {', '.join(caught) or 'no test failed'}")
            uncaught += 0 if caught else 1
        finally:
            open(path, "w", encoding="utf-8").write(original)
    shutil.rmtree(scratch)
    return 1 if uncaught else 0


if __name__ == "__main__":
    sys.exit(main())
