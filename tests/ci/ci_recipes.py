#!/usr/bin/env python3
"""Run the CI recipes of docs/ci.md, so they cannot rot.

    ci_recipes.py WEDGE_BIN_DIR SOURCE_DIR WORK_DIR [REPEAT]

Extracts the YAML blocks marked <!-- ci:github --> and <!-- ci:gitlab -->,
checks their shape (the outputs published whatever the outcome, exit 3
allowed to fail on GitLab), and executes their commands as the CI would:
every `run:` step of the GitHub workflow but `id: install` in
`bash --noprofile --norc -eo pipefail` (GitHub's `shell: bash`), the GitLab
job's `script:` lines as one `bash -eo pipefail` script (its
`before_script:` is the install).  The local build's wedge is first on the
PATH in place of the installed package; the scenario is the source tree's.

Four cases per recipe: oversell-atomic (job passes, junit.xml and the
artifact paths exist), oversell-naive (job fails, a failure in junit.xml),
an unreachable --dsn (inconclusive: GitHub passes with a ::warning and
exit=3 in $GITHUB_OUTPUT, GitLab exits 3 and allow_failure accepts it), and
an unknown flag (job fails with 2).  Exit 0 pass, 1 fail.
"""
import os
import re
import shutil
import subprocess
import sys

import yaml

GITHUB_BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]
GITLAB_BASH = ["bash", "-eo", "pipefail"]
STEP_TIMEOUT = 600


def fail(msg):
    print(f"ci_recipes: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def blocks(path):
    """{marker: parsed YAML} for each ```yaml block right after <!-- ci:NAME -->."""
    text = open(path, encoding="utf-8").read()
    found = {}
    for m in re.finditer(r"<!-- ci:(\w+) -->\n```yaml\n(.*?)\n```", text, re.S):
        line = text.count("\n", 0, m.start()) + 1
        try:
            found[m.group(1)] = yaml.safe_load(m.group(2))
        except yaml.YAMLError as e:
            fail(f"{path}:{line}: the ci:{m.group(1)} block is not YAML: {e}")
    for want in ("github", "gitlab"):
        if want not in found:
            fail(f"{path}: no ```yaml block after <!-- ci:{want} -->")
    return found


def github_plan(wf):
    """(env, [(name, script)]) of the workflow's one job, shape checked."""
    if (wf.get("defaults", {}).get("run", {}).get("shell")) != "bash":
        fail("the workflow must set defaults.run.shell: bash (the test runs bash -eo pipefail)")
    jobs = wf.get("jobs", {})
    if len(jobs) != 1:
        fail(f"the workflow has {len(jobs)} jobs, the test knows one")
    job = next(iter(jobs.values()))
    steps, runs, seen_chaos = job.get("steps", []), [], False
    if not any(s.get("id") == "install" for s in steps):
        fail("no step with id: install (the one the test replaces by the local build)")
    for s in steps:
        if "run" in s:
            if "${{" in s["run"]:
                fail(f"step '{s.get('name')}' uses ${{{{ }}}} expressions the test cannot expand")
            if s.get("id") == "install":
                check_syntax(s["run"], "github install step")
            else:
                runs.append((s.get("name", "step"), s["run"]))
                seen_chaos = seen_chaos or s.get("id") == "chaos"
        elif seen_chaos and "always()" not in str(s.get("if", "")):
            fail(f"step '{s.get('name')}' after the chaos stage lacks if: always() (a found race must still publish)")
    if not seen_chaos:
        fail("no run step with id: chaos")
    paths = []
    for s in steps:
        w = s.get("with", {}) or {}
        paths += [w[k] for k in ("path", "report_paths") if k in w]
    if not any("junit.xml" in p for p in paths):
        fail("no step publishes junit.xml")
    return job.get("env", {}), runs, paths


def gitlab_plan(doc):
    jobs = {k: v for k, v in doc.items() if isinstance(v, dict) and "script" in v}
    if len(jobs) != 1:
        fail(f"the GitLab block has {len(jobs)} jobs, the test knows one")
    job = next(iter(jobs.values()))
    check_syntax("\n".join(job.get("before_script", [])), "gitlab before_script")
    art = job.get("artifacts", {})
    if art.get("when") != "always":
        fail("GitLab artifacts need when: always (a found race must still publish)")
    junit = art.get("reports", {}).get("junit")
    if not junit:
        fail("GitLab artifacts:reports:junit is missing")
    codes = job.get("allow_failure", {}).get("exit_codes", [])
    if 3 not in codes or 1 in codes:
        fail(f"GitLab allow_failure.exit_codes must hold 3 (inconclusive) and not 1: {codes}")
    return job.get("variables", {}), [("script", "\n".join(job["script"]))], art.get("paths", []) + [junit], codes


def check_syntax(script, what):
    r = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
    if r.returncode:
        fail(f"{what} is not valid bash: {r.stderr.strip()}")


def execute(kind, env_yaml, runs, ws, over):
    """Run the steps in order in workspace ws, as the CI does; stop at the
    first failing one.  Returns (exit status, output, GITHUB_OUTPUT text)."""
    shutil.rmtree(ws, ignore_errors=True)
    os.makedirs(ws)
    env = dict(os.environ)
    env.update({k: str(v) for k, v in env_yaml.items()})
    env.update(over)
    gh_out, gh_sum = os.path.join(ws, ".github_output"), os.path.join(ws, ".github_summary")
    if kind == "github":
        env.update(GITHUB_OUTPUT=gh_out, GITHUB_STEP_SUMMARY=gh_sum, GITHUB_ACTIONS="true")
    else:
        env.update(GITLAB_CI="true")
    shell = GITHUB_BASH if kind == "github" else GITLAB_BASH
    output, rc = "", 0
    for name, script in runs:
        try:
            r = subprocess.run(shell, input=script, text=True, cwd=ws, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=STEP_TIMEOUT)
        except subprocess.TimeoutExpired:
            fail(f"{kind}: step '{name}' ran over {STEP_TIMEOUT} s")
        output += r.stdout
        rc = r.returncode
        if rc:
            break
    ghtext = open(gh_out).read() if os.path.exists(gh_out) else ""
    return rc, output, ghtext


def main():
    bindir, src, work = (os.path.abspath(a) for a in sys.argv[1:4])
    repeat = sys.argv[4] if len(sys.argv) > 4 else "2"
    recipes = blocks(os.path.join(src, "docs", "ci.md"))
    gh_env, gh_runs, gh_paths = github_plan(recipes["github"])
    gl_env, gl_runs, gl_paths, gl_allowed = gitlab_plan(recipes["gitlab"])

    os.makedirs(work, exist_ok=True)
    tmp = os.path.join(work, "tmp")  # the cluster's unprivileged user writes here
    os.makedirs(tmp, exist_ok=True)
    os.chmod(tmp, 0o1777)
    shop = os.path.join(src, "scenarios", "shop")
    base = {"PATH": bindir + os.pathsep + os.environ.get("PATH", ""), "TMPDIR": tmp,
            "WEDGE_REPEAT": repeat, "WEDGE_ARGS": "--quiet"}
    for v in ("WEDGE_RULES", "WEDGE_RULES_FILE", "WEDGE_TRACE", "WEDGE_CTL", "WEDGE_SEED", "WEDGE_BUILD"):
        os.environ.pop(v, None)
    cases = [
        ("pass", "oversell-atomic.scn", "--quiet"),
        ("found", "oversell-naive.scn", "--quiet"),
        ("inconclusive", "oversell-atomic.scn", "--quiet --dsn postgresql://wedge@127.0.0.1:1/none?connect_timeout=2"),
        ("usage", "oversell-atomic.scn", "--no-such-flag"),
    ]
    plans = [("github", gh_env, gh_runs, gh_paths), ("gitlab", gl_env, gl_runs, gl_paths)]
    for kind, env_yaml, runs, paths in plans:
        for case, scn, args in cases:
            ws = os.path.join(work, f"{kind}-{case}")
            over = dict(base, WEDGE_SCENARIO=os.path.join(shop, scn), WEDGE_ARGS=args)
            rc, out, ghtext = execute(kind, env_yaml, runs, ws, over)
            what = f"{kind} {case}: exit {rc}"
            tail = "\n".join(out.splitlines()[-15:])
            junit = os.path.join(ws, "chaos-out", "junit.xml")
            if case == "pass":
                if rc != 0:
                    fail(f"{what}, want 0 (every invariant held); output:\n{tail}")
                for p in paths + ["chaos-out/report.html", "chaos-out/run-1/report.md",
                                  "chaos-out/run-1/report.html"]:
                    if not os.path.exists(os.path.join(ws, p)):
                        fail(f"{what}: the published path {p} does not exist")
                if "failures=\"0\"" not in open(junit).read():
                    fail(f"{what}: {junit} has failures")
            elif case == "found":
                if rc != 1:
                    fail(f"{what}, want 1 (the race is found); output:\n{tail}")
                if not re.search(r'failures="[1-9]', open(junit).read()):
                    fail(f"{what}: {junit} records no failure")
                if kind == "github" and "::error title=chaos: race found::" not in out:
                    fail(f"{what}: no ::error annotation")
            elif case == "inconclusive":
                if kind == "github":
                    if rc != 0 or "::warning title=chaos: inconclusive::" not in out or "exit=3" not in ghtext:
                        fail(f"{what}, want 0 with a ::warning and exit=3 in GITHUB_OUTPUT "
                             f"(got '{ghtext.strip()}'); output:\n{tail}")
                elif rc != 3 or rc not in gl_allowed:
                    fail(f"{what}, want 3, allowed by allow_failure.exit_codes {gl_allowed}; output:\n{tail}")
            elif rc != 2 or (kind == "gitlab" and rc in gl_allowed):
                fail(f"{what}, want 2 (a configuration error fails the job); output:\n{tail}")
            print(f"ci_recipes: {what}: as wanted")
    print("ci_recipes: PASS")


if __name__ == "__main__":
    main()
