#!/usr/bin/env python3
"""Run the three CI setup scripts (Azure DevOps, GitHub, Jenkins) for real against a release
archive served from a folder (file://), as `cargo xtask check-templates` asks: each must install
tools that run, say where they are in its CI's way, use its cache the second time, and refuse
an archive whose SHA-256 is not the one given.

usage: check_setup.py ROOT DIST_DIR SHA256 VERSION
"""
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import yaml


def scripts(root):
    ado = yaml.safe_load((root / "templates/azure-devops/steps/setup.yml").read_text())
    github = yaml.safe_load((root / "templates/github/setup/action.yml").read_text())
    groovy = (root / "templates/jenkins/vars/amlSetup.groovy").read_text()
    return {
        "azure-devops": next(s["bash"] for s in ado["steps"] if "bash" in s),
        "github": next(s["run"] for s in github["runs"]["steps"] if "run" in s),
        "jenkins": re.search(r"script: '''(.*?)'''", groovy, re.S).group(1),
    }


def environment(ci, tmp, base_url, sha, version):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp), "VERSION": version, "BASE_URL": base_url, "SHA256": sha}
    if ci == "azure-devops":
        env.update(PIPELINE_WORKSPACE=str(tmp / "pipeline"), AGENT_TEMPDIRECTORY=str(tmp / "agent-tmp"), FROM_SOURCE="False", SOURCE_DIR=str(tmp))
        (tmp / "agent-tmp").mkdir(parents=True, exist_ok=True)
    elif ci == "github":
        env.update(RUNNER_TEMP=str(tmp / "runner-tmp"), GITHUB_PATH=str(tmp / "github_path"), FROM_SOURCE="false", SOURCE_DIR=str(tmp))
        (tmp / "runner-tmp").mkdir(parents=True, exist_ok=True)
    else:
        env.update(ROOT=str(tmp / "tools/aml-tools"), FROM_SOURCE="false")
    return env


def installed_bin(ci, tmp, stdout):
    if ci == "azure-devops":
        m = re.search(r"##vso\[task\.prependpath\](.*)", stdout)
        return pathlib.Path(m.group(1)) if m else None
    if ci == "github":
        path = tmp / "github_path"
        return pathlib.Path(path.read_text().strip()) if path.is_file() else None
    return tmp / "tools/aml-tools/bin"


def main():
    root, dist, sha, version = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    base_url = "file://" + str(dist.resolve())
    problems = []
    for ci, script in scripts(root).items():
        with tempfile.TemporaryDirectory() as t:
            tmp = pathlib.Path(t)
            run = lambda checksum: subprocess.run(["bash", "-c", script], cwd=tmp, env=environment(ci, tmp, base_url, checksum, version), capture_output=True, text=True)
            wrong = run("0" * 64)
            if wrong.returncode == 0:
                problems.append(f"{ci}: setup accepted an archive whose SHA-256 is not the one given")
            first = run(sha)
            if first.returncode != 0:
                problems.append(f"{ci}: setup failed: {first.stdout}{first.stderr}")
                continue
            bin_dir = installed_bin(ci, tmp, first.stdout)
            tool = (bin_dir / "approval-gate") if bin_dir else None
            if not tool or not tool.is_file():
                problems.append(f"{ci}: setup did not say where the tools are (or they are not there): {bin_dir}")
                continue
            out = subprocess.run([str(tool), "--version"], capture_output=True, text=True)
            if out.stdout.strip() != f"approval-gate {version}":
                problems.append(f"{ci}: the installed approval-gate says {out.stdout.strip()!r}")
            again = run(sha)
            if again.returncode != 0 or not re.search(r"from the cache|already installed", again.stdout):
                problems.append(f"{ci}: the second setup did not reuse the installed tools: {again.stdout}{again.stderr}")
            print(f"    {ci} setup: installed from the archive, verified, reused the second time; a wrong SHA-256 is refused")
    for p in problems:
        print(p, file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
