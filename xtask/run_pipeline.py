#!/usr/bin/env python3
"""Run an Azure DevOps pipeline from recipes/azure-devops/ on this machine, as an agent would
run its templates: `template:` references expanded with their parameters (`${{ parameters.x }}`,
`${{ join(';', parameters.x) }}`, whole objects passed down), stages and jobs in `dependsOn`
order, stage variables computed from `$[ stageDependencies.S.J.outputs['step.var'] ]`, `$(…)`
macros from variables and earlier steps' output variables, and each `bash:` step run with its
`env:`, its `##vso[task.setvariable …;isoutput=true]` and `##vso[task.prependpath]` commands
read back as the agent reads them (from stdout and stderr). So the recipe is tested end to end
on a local workspace, not only linted.

Not a general agent: `checkout` and the setup template are skipped (the tools under test are
on PATH), `Cache@2` is skipped, `PublishTestResults@2` checks that its files exist, and a
deployment job's environment approval is given by REVIEWER (said so in the log). A step's
`condition:` is evaluated with `and`, `or`, `not`, `eq`, `ne`, `succeeded()`,
`succeededOrFailed()`, `always()`, `failed()`, `canceled()` and `variables['X']`; the run is a CI build of `refs/heads/main` unless the variables
`Build.SourceBranch` / `Build.Reason` say otherwise.

usage: run_pipeline.py ROOT PIPELINE BIN_DIR WORKDIR REVIEWER [NAME=VALUE ...]
(a NAME of `parameters.X` sets the pipeline's run parameter X; any other, a variable)
"""
import os
import pathlib
import re
import subprocess
import sys

import yaml

SETUP = "steps/setup.yml"


def compile_value(value, parameters):
    """Compile-time expressions: `${{ parameters.x }}` (whole objects too) and `join`."""
    if isinstance(value, dict):
        return {k: compile_value(v, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [compile_value(v, parameters) for v in value]
    if not isinstance(value, str):
        return value
    whole = re.fullmatch(r"\$\{\{\s*parameters\.([\w]+)\s*\}\}", value.strip())
    if whole:
        return parameters.get(whole.group(1), "")

    def one(m):
        expression = m.group(1).strip()
        join = re.fullmatch(r"join\('([^']*)',\s*parameters\.(\w+)\)", expression)
        if join:
            return join.group(1).join(str(x) for x in (parameters.get(join.group(2)) or []))
        name = re.fullmatch(r"parameters\.(\w+)", expression)
        if name:
            v = parameters.get(name.group(1), "")
            return ("True" if v else "False") if isinstance(v, bool) else str(v)
        raise SystemExit(f"this local agent cannot evaluate `${{{{ {expression} }}}}`")

    return re.sub(r"\$\{\{(.*?)\}\}", one, value)


class Agent:
    def __init__(self, root, pipeline, bin_dir, work, reviewer, overrides):
        self.root = pathlib.Path(root).resolve()
        self.pipeline = pathlib.Path(pipeline).resolve()
        self.bin = pathlib.Path(bin_dir).resolve()
        self.work = pathlib.Path(work).resolve()
        self.reviewer = reviewer
        self.overrides = overrides
        self.path_prefix = []
        self.job_outputs = {}  # (stage, job) → {"step.var": value}
        self.predefined = {
            "Agent.TempDirectory": str(self.work / "agent-temp"),
            "Agent.WorkFolder": str(self.work / "agent-work"),
            "Agent.OS": "Linux",
            "Build.SourcesDirectory": str(self.work / "repo"),
            "Build.ArtifactStagingDirectory": str(self.work / "staging"),
            "Pipeline.Workspace": str(self.work / "pipeline"),
            "System.AccessToken": "local-agent-token",
            "Build.SourceBranch": "refs/heads/main",
            "Build.Reason": "IndividualCI",
        }
        for d in ("agent-temp", "agent-work", "staging", "pipeline"):
            (self.work / d).mkdir(parents=True, exist_ok=True)

    def parameters_of(self, path, given):
        doc = yaml.safe_load(path.read_text())
        values = {}
        for spec in doc.get("parameters", []):
            name = spec["name"]
            if name in given:
                values[name] = given[name]
            elif "default" in spec:
                values[name] = spec["default"]
            else:
                raise SystemExit(f"{path}: parameter `{name}` is required and was not given")
        return doc, values

    def expand(self, items, base, parameters, key):
        """Steps or jobs, with `template:` references replaced by what they hold; a job's
        steps are expanded where the job was written (their paths are relative to it)."""
        out = []
        for item in items or []:
            if "template" in item:
                target = (base / item["template"]).resolve()
                if str(target).endswith(SETUP):
                    continue
                given = compile_value(item.get("parameters") or {}, parameters)
                doc, values = self.parameters_of(target, given)
                out += self.expand(doc.get(key), target.parent, values, key)
                continue
            item = compile_value(item, parameters)
            if key == "jobs":
                if "steps" in item:
                    item["steps"] = self.expand(item["steps"], base, parameters, "steps")
                if "deployment" in item:
                    deploy = item["strategy"]["runOnce"]["deploy"]
                    deploy["steps"] = self.expand(deploy["steps"], base, parameters, "steps")
            out.append(item)
        return out

    def macros(self, text, variables):
        def one(m):
            name = m.group(1)
            for source in (variables, self.predefined):
                if name in source:
                    return str(source[name])
            return m.group(0)

        return re.sub(r"\$\(([\w.]+)\)", one, str(text))

    def runtime(self, value, stage_outputs):
        m = re.fullmatch(r"\$\[\s*stageDependencies\.(\w+)\.(\w+)\.outputs\['([\w.]+)'\]\s*\]", str(value).strip())
        if not m:
            return value
        stage, job, key = m.groups()
        outputs = self.job_outputs.get((stage, job))
        if outputs is None or key not in outputs:
            raise SystemExit(f"`{value}`: job {stage}.{job} set no output `{key}` (it set: {sorted(outputs or {})})")
        return outputs[key]

    def condition(self, text, variables):
        """A step's `condition:`: the functions the recipes use, over this run's variables."""
        tokens = re.findall(r"'[^']*'|\w+|\[|\]|\(|\)|,|\.", text)
        at = 0

        def value():
            nonlocal at
            token = tokens[at]
            at += 1
            if token.startswith("'"):
                return token[1:-1]
            if token == "variables":
                at += 1  # [
                name = tokens[at][1:-1]
                at += 2  # 'name' ]
                return str(variables.get(name, self.predefined.get(name, "")))
            if token in ("true", "false"):
                return token == "true"
            at += 1  # (
            args = []
            while tokens[at] != ")":
                args.append(value())
                if tokens[at] == ",":
                    at += 1
            at += 1
            functions = {
                "succeeded": lambda: True, "succeededorfailed": lambda: True, "always": lambda: True,
                # A failed step ends the run here, so a later step never sees a failure.
                "failed": lambda: False, "canceled": lambda: False, "and": lambda *a: all(a), "or": lambda *a: any(a),
                "not": lambda a: not a, "eq": lambda a, b: str(a).lower() == str(b).lower(),
                "ne": lambda a, b: str(a).lower() != str(b).lower(),
            }
            if token.lower() not in functions:
                raise SystemExit(f"this local agent cannot evaluate `{token}` in the condition `{text}`")
            return functions[token.lower()](*args)

        return bool(value())

    def bash(self, step, variables, label):
        env = dict(os.environ)
        env.pop("AML_CI", None)
        for name, value in variables.items():
            env[re.sub(r"\W", "_", name).upper()] = str(value)
        for name, value in self.predefined.items():
            env[re.sub(r"\W", "_", name).upper()] = value
        env["TF_BUILD"] = "True"
        for name, value in (step.get("env") or {}).items():
            env[name] = self.macros(value, variables)
        env["PATH"] = ":".join(self.path_prefix + [str(self.bin), env["PATH"]])
        script = self.macros(step["bash"], variables)
        print(f"  [{label}]", flush=True)
        done = subprocess.run(["bash", "-c", script], cwd=self.work / "repo", env=env, capture_output=True, text=True)
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
        if done.returncode != 0:
            raise SystemExit(f"step `{label}` failed (exit {done.returncode})")
        outputs = {}
        for line in (done.stdout + "\n" + done.stderr).splitlines():
            m = re.match(r"##vso\[task\.setvariable variable=([^;\]]+)((?:;[^\]]*)?)\](.*)", line)
            if m:
                outputs[m.group(1)] = (m.group(3).replace("%0A", "\n").replace("%0D", "\r").replace("%AZP25", "%"), "isoutput=true" in m.group(2))
            m = re.match(r"##vso\[task\.prependpath\](.*)", line)
            if m:
                self.path_prefix.insert(0, m.group(1))
        return outputs

    def task(self, step, variables, label):
        name = step["task"]
        if name.startswith("Cache@"):
            return
        if name.startswith("PublishTestResults@"):
            files = self.macros(step["inputs"]["testResultsFiles"], variables)
            path = pathlib.Path(files) if os.path.isabs(files) else self.work / "repo" / files
            if not path.is_file():
                raise SystemExit(f"{label}: PublishTestResults finds no {files}")
            print(f"  [{label}: {files} published]", flush=True)
            return
        raise SystemExit(f"{label}: this local agent does not run task `{name}`")

    def run_job(self, stage, job, variables):
        name = job.get("job") or job.get("deployment")
        if "deployment" in job:
            print(f"  [environment `{job['environment']}`: approved by {self.reviewer}, standing in for its approvers]", flush=True)
            steps = job["strategy"]["runOnce"]["deploy"]["steps"]
            prefix = f"{name}."
        else:
            steps = job["steps"]
            prefix = ""
        print(f"job {stage}.{name}", flush=True)
        local = dict(variables)
        outputs = {}
        for step in steps:
            label = f"{stage}.{name}: {step.get('displayName') or step.get('name') or step.get('task') or 'step'}"
            if "checkout" in step:
                continue
            if "condition" in step and not self.condition(str(step["condition"]), local):
                print(f"  [{label}: skipped, its condition `{step['condition']}` is false]", flush=True)
                continue
            if "task" in step:
                self.task(step, local, label)
                continue
            if "bash" not in step:
                raise SystemExit(f"{label}: this local agent runs bash steps and templates only")
            for var, (value, is_output) in self.bash(step, local, label).items():
                step_name = step.get("name")
                local[f"{step_name}.{var}" if is_output and step_name else var] = value
                if is_output and step_name:
                    outputs[f"{prefix}{step_name}.{var}"] = value
        self.job_outputs[(stage, name)] = outputs

    def run(self):
        doc = yaml.safe_load(self.pipeline.read_text())
        parameters = {p["name"]: p.get("default", "") for p in doc.get("parameters", [])}
        parameters.update({k.split(".", 1)[1]: v for k, v in self.overrides.items() if k.startswith("parameters.")})
        variables = {k: str(compile_value(v, parameters)) for k, v in (doc.get("variables") or {}).items()}
        variables.update({k: v for k, v in self.overrides.items() if not k.startswith("parameters.")})
        for name in ("Build.SourceBranch", "Build.Reason"):
            if name in variables:
                self.predefined[name] = variables[name]
        variables = {k: self.macros(v, variables) for k, v in variables.items()}
        stages = doc["stages"]
        done = set()
        while len(done) < len(stages):
            ready = [s for s in stages if s["stage"] not in done and all(d in done for d in ([s["dependsOn"]] if isinstance(s.get("dependsOn"), str) else s.get("dependsOn", [])))]
            if not ready:
                raise SystemExit("the stages' dependsOn form a cycle")
            stage = ready[0]
            print(f"stage {stage['stage']}", flush=True)
            stage_variables = dict(variables)
            for k, v in (stage.get("variables") or {}).items():
                stage_variables[k] = self.runtime(compile_value(v, parameters), None)
            for job in self.expand(stage["jobs"], self.pipeline.parent, parameters, "jobs"):
                self.run_job(stage["stage"], job, stage_variables)
            done.add(stage["stage"])


def main():
    root, pipeline, bin_dir, work, reviewer = sys.argv[1:6]
    overrides = dict(a.split("=", 1) for a in sys.argv[6:])
    Agent(root, pipeline, bin_dir, work, reviewer, overrides).run()


if __name__ == "__main__":
    main()
