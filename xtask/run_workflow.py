#!/usr/bin/env python3
"""Run a GitHub Actions workflow from recipes/github/ on this machine, as a runner would run
its `./templates/github/*` composite actions: the expressions they use (`${{ inputs.x }}`,
`steps.ID.outputs.X`, `needs.JOB.outputs.X`, `env.X`, `runner.temp`, `a || b`) evaluated,
each `run:` step in bash with GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files, outputs passed from
step to action to job to the jobs that need it. So the recipe itself is tested, end to end,
on a local workspace, not only linted.

Not a general runner: `actions/checkout` is skipped (it runs in a copy of the repository),
`./templates/github/setup` is skipped (the tools under test are on PATH), and an
job's `if:` is evaluated (`==`, `!=`, `&&`, `||` over `github.event_name` and `github.ref`,
a push to `refs/heads/main` unless GITHUB_EVENT_NAME / GITHUB_REF are given; a job whose
condition is false is skipped, and so are the jobs that need it), and an
`environment:` with required reviewers is approved by REVIEWER through a local server that
answers GitHub's documented `GET …/actions/runs/{run_id}/approvals` (contracts/ci/github-rest)
and refuses any request the spec does not describe.

usage: run_workflow.py ROOT WORKFLOW BIN_DIR WORKDIR REVIEWER [NAME=VALUE ...]
"""
import http.server
import json
import os
import pathlib
import re
import subprocess
import sys
import threading

import yaml

TOKEN = "ghs_localRunnerToken"
RUN_ID = "4242"
REPOSITORY = "aml-tools/recipe-check"


class Approvals(http.server.BaseHTTPRequestHandler):
    """GitHub's approvals endpoint, answering with the documented example's shape."""

    reviews = []
    template = None

    def do_GET(self):
        parts = self.path.split("?")[0].strip("/").split("/")
        expected = self.template.strip("/").split("/")
        matches = len(parts) == len(expected) and all(e.startswith("{") or e == p for e, p in zip(expected, parts))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self.answer(401, {"message": "Bad credentials"})
        if not matches or parts[-2] != RUN_ID:
            return self.answer(404, {"message": "Not Found"})
        self.answer(200, self.reviews)

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def lookup(context, path):
    value = context
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part, "")
        else:
            return ""
    return value if value is not None else ""


def evaluate(text, context):
    """`${{ … }}` in text: context paths, string literals and `||`."""

    def one(m):
        for alternative in m.group(1).split("||"):
            alternative = alternative.strip()
            value = alternative[1:-1] if alternative[:1] == alternative[-1:] == "'" else lookup(context, alternative)
            if value not in ("", None):
                return str(value)
        return ""

    return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", one, str(text))


def condition(text, context):
    """A job's `if:`: comparisons of context paths and strings, joined by `&&` and `||`."""
    text = re.sub(r"^\$\{\{\s*(.*?)\s*\}\}$", r"\1", str(text).strip())

    def operand(token):
        token = token.strip()
        return token[1:-1] if token[:1] == token[-1:] == "'" else lookup(context, token)

    def comparison(part):
        for operator, test in (("==", lambda a, b: a == b), ("!=", lambda a, b: a != b)):
            if operator in part:
                left, right = part.split(operator, 1)
                return test(str(operand(left)), str(operand(right)))
        if not re.fullmatch(r"\s*[\w.]+\s*", part):
            raise SystemExit(f"this local runner cannot evaluate `{part}` in `if: {text}`")
        return operand(part) not in ("", None, False, "false")

    return any(all(comparison(part) for part in alternative.split("&&")) for alternative in text.split("||"))


def read_outputs(path):
    outputs, lines = {}, path.read_text().splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and "=" not in line.split("<<")[0]:
            name, delimiter = line.split("<<", 1)
            value = []
            i += 1
            while i < len(lines) and lines[i] != delimiter:
                value.append(lines[i])
                i += 1
            outputs[name] = "\n".join(value)
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
        i += 1
    return outputs


class Runner:
    def __init__(self, root, workflow, bin_dir, workdir, reviewer, overrides):
        self.root = pathlib.Path(root).resolve()
        self.workflow = yaml.safe_load(pathlib.Path(workflow).read_text())
        self.bin = pathlib.Path(bin_dir).resolve()
        self.work = pathlib.Path(workdir).resolve()
        self.reviewer = reviewer
        self.env = {k: str(v) for k, v in (self.workflow.get("env") or {}).items()}
        self.env.update(overrides)
        self.counter = 0

    def shell(self, script, env, label):
        self.counter += 1
        output = self.work / "runner" / f"output-{self.counter}"
        summary = self.work / "runner" / f"summary-{self.counter}"
        output.parent.mkdir(parents=True, exist_ok=True)
        full = dict(os.environ)
        full.update(self.env)
        full.update(env)
        full.update(
            GITHUB_ACTIONS="true", GITHUB_OUTPUT=str(output), GITHUB_STEP_SUMMARY=str(summary), RUNNER_TEMP=str(self.work / "runner-temp"),
            GITHUB_API_URL=self.api, GITHUB_REPOSITORY=REPOSITORY, GITHUB_RUN_ID=RUN_ID, PATH=f"{self.bin}:{os.environ['PATH']}",
        )
        full.pop("AML_CI", None)
        print(f"  [{label}]", flush=True)
        done = subprocess.run(["bash", "-e", "-c", script], cwd=self.work / "repo", env=full)
        if done.returncode != 0:
            raise SystemExit(f"step `{label}` failed (exit {done.returncode})")
        return read_outputs(output)

    def action(self, uses, given, context, label):
        spec = yaml.safe_load((self.root / uses / "action.yml").read_text())
        inputs = {}
        for name, decl in (spec.get("inputs") or {}).items():
            value = given.get(name, decl.get("default", ""))
            inputs[name] = evaluate(value if value is not None else "", context)
        steps = {}
        for step in spec["runs"]["steps"]:
            scope = dict(context, inputs=inputs, steps=steps)
            env = {k: evaluate(v, scope) for k, v in (step.get("env") or {}).items()}
            outputs = self.shell(step["run"], env, label)
            if "id" in step:
                steps[step["id"]] = {"outputs": outputs}
        scope = dict(context, inputs=inputs, steps=steps)
        return {name: evaluate(decl.get("value", ""), scope) for name, decl in (spec.get("outputs") or {}).items()}

    def approve(self, job, environment):
        Approvals.reviews.append({"state": "approved", "comment": "local run of the recipe", "environments": [{"name": environment}], "user": {"login": self.reviewer}})
        print(f"  [environment `{environment}` of job {job}: approved by {self.reviewer}, standing in for its required reviewers]", flush=True)

    def run(self):
        spec = json.loads((self.root / "contracts/ci/github-rest/actions-deployments-dispatch.openapi.json").read_text())
        Approvals.template = next(p for p in spec["paths"] if p.endswith("/actions/runs/{run_id}/approvals"))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Approvals)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.api = f"http://127.0.0.1:{server.server_address[1]}"
        (self.work / "runner-temp").mkdir(parents=True, exist_ok=True)
        jobs = self.workflow["jobs"]
        done = {}
        skipped = set()
        while len(done) < len(jobs):
            ready = [name for name, job in jobs.items() if name not in done and all(n in done for n in ([job["needs"]] if isinstance(job.get("needs"), str) else job.get("needs", [])))]
            if not ready:
                raise SystemExit("the jobs' `needs` form a cycle")
            name = ready[0]
            job = jobs[name]
            print(f"job {name}", flush=True)
            needs = [job["needs"]] if isinstance(job.get("needs"), str) else job.get("needs", [])
            github = {"event_name": self.env.get("GITHUB_EVENT_NAME", "push"), "ref": self.env.get("GITHUB_REF", "refs/heads/main")}
            if any(n in skipped for n in needs) or ("if" in job and not condition(job["if"], {"github": github, "env": self.env})):
                print(f"  [skipped: {'a job it needs was skipped' if any(n in skipped for n in needs) else 'its if: is false'}]", flush=True)
                skipped.add(name)
                done[name] = {}
                continue
            if job.get("environment"):
                self.approve(name, job["environment"])
            steps = {}
            context = {"env": self.env, "needs": {n: {"outputs": done[n]} for n in done}, "runner": {"temp": str(self.work / "runner-temp")}, "github": {"token": TOKEN, "workspace": str(self.work / "repo"), "event_name": self.env.get("GITHUB_EVENT_NAME", "push"), "ref": self.env.get("GITHUB_REF", "refs/heads/main")}}
            for step in job["steps"]:
                uses = step.get("uses", "")
                label = f"{name}: {step.get('id') or uses or 'run'}"
                context["steps"] = steps
                if uses.startswith("actions/checkout") or uses == "./templates/github/setup":
                    continue
                if uses.startswith("./"):
                    given = {k: v for k, v in (step.get("with") or {}).items()}
                    outputs = self.action(uses, given, context, label)
                elif "run" in step:
                    outputs = self.shell(evaluate(step["run"], context), {}, label)
                else:
                    raise SystemExit(f"{label}: `{uses}` is not something this local runner runs")
                if "id" in step:
                    steps[step["id"]] = {"outputs": outputs}
            context["steps"] = steps
            done[name] = {k: evaluate(v, context) for k, v in (job.get("outputs") or {}).items()}
            print(f"  outputs: {done[name] or '-'}", flush=True)
        server.shutdown()


def main():
    root, workflow, bin_dir, workdir, reviewer = sys.argv[1:6]
    overrides = dict(a.split("=", 1) for a in sys.argv[6:])
    Runner(root, workflow, bin_dir, workdir, reviewer, overrides).run()


if __name__ == "__main__":
    main()
