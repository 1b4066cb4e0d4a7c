#!/usr/bin/env python3
"""What the official schemas cannot check about templates/ and recipes/ (run by
`cargo xtask check-templates`, with the project's venv python):

- every Azure DevOps `template:` reference resolves, every parameter passed is declared,
  every required one is given, literal values have the declared type (and allowed value);
- every GitHub `uses: ./…` action exists, every `with:` input is declared, required ones given;
- every Jenkins step call passes only the parameters its header documents;
- every flag passed to an aml-* tool exists in that tool's `--help` (scripts, check commands,
  Groovy argument lists), so a renamed flag breaks this check, not a user's pipeline;
- every output a later step, job or stage reads is one a step declares, and every declared
  output is one the tool really sets (its name is in the tool's source);
- the recipes run the tools in the order `cargo xtask demo` does (xtask/demo-flow.txt).

usage: check_templates.py ROOT BIN_DIR
Prints `file:line: problem` lines and exits 1 if there are any.
"""
import json
import pathlib
import re
import subprocess
import sys

import yaml

TOOLS = ["aml-train", "aml-register", "aml-package", "aml-deploy", "approval-gate", "smoke-test", "aml-infra"]
TOOL_RE = re.compile(r"(?:^|[\s;|&(\"'])(" + "|".join(map(re.escape, TOOLS)) + r")\s+([a-z][a-z-]*)")
FLAG_RE = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])")


class Lines(yaml.SafeLoader):
    """A loader that remembers the line of every mapping, as `__line__`."""


def _mapping(loader, node):
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


Lines.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
# `on:` is a key, not a boolean.
Lines.yaml_implicit_resolvers = {k: [(t, r) for t, r in v if t != "tag:yaml.org,2002:bool"] for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
Lines.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


class Checker:
    def __init__(self, root, bin_dir):
        self.root = pathlib.Path(root).resolve()
        self.bin = pathlib.Path(bin_dir)
        self.problems = []
        self.helps = {}
        self.sources = "\n".join(p.read_text() for p in (self.root / "crates").glob("*/src/**/*.rs")) if (self.root / "crates").is_dir() else ""
        # aml-infra sets one output variable per output of the ARM template it deployed.
        template = self.root / "infra" / "deploy.json"
        if self.sources and template.is_file():
            self.sources += "\n".join(f'"{name}"' for name in json.loads(template.read_text()).get("outputs", {}))

    def problem(self, path, line, message):
        path = pathlib.Path(path).resolve()
        shown = path.relative_to(self.root) if path.is_relative_to(self.root) else path
        entry = f"{shown}:{line or 1}: {message}"
        if entry not in self.problems:
            self.problems.append(entry)

    # Tools, their subcommands and flags, from the real binaries' --help.

    def help(self, *argv):
        if argv not in self.helps:
            out = subprocess.run([str(self.bin / argv[0]), *argv[1:], "--help"], capture_output=True, text=True)
            self.helps[argv] = out.stdout if out.returncode == 0 else None
        return self.helps[argv]

    def subcommands(self, tool):
        text = self.help(tool) or ""
        block = text.split("Commands:", 1)[1].split("Options:", 1)[0] if "Commands:" in text else ""
        return {m.group(1) for m in re.finditer(r"^\s{2}([a-z][a-z-]*)\s", block, re.M)} - {"help"}

    def flags(self, tool, sub):
        text = self.help(tool, sub) or ""
        found = set()
        for line in text.splitlines():
            m = re.match(r"^\s+(?:(-[a-zA-Z]), )?(--[a-z][a-z0-9-]*)", line)
            if m:
                found.update(x for x in m.groups() if x)
        return found

    def check_command_text(self, path, line, text):
        """Tool invocations in a script or a string: each flag must exist for its subcommand."""
        text = re.sub(r"\\\n", " ", text)
        pending = []  # flags gathered in `args` arrays, for the next invocation that uses them
        for offset, raw in enumerate(text.splitlines()):
            if re.search(r"\bargs\+?=\(", raw):
                pending += FLAG_RE.findall(raw.split("=(", 1)[1])
                continue
            for m in TOOL_RE.finditer(raw):
                tool, sub = m.groups()
                rest = raw[m.end():]
                rest = re.split(r"\s(?:\|\||&&|;|\|)\s", rest)[0]
                if sub not in self.subcommands(tool):
                    # A tool named in prose is not an invocation; one given flags is.
                    if FLAG_RE.search(rest):
                        self.problem(
                            path,
                            line + offset,
                            f"`{tool}` has no subcommand `{sub}` (it has: {', '.join(sorted(self.subcommands(tool)))})",
                        )
                    continue
                used = FLAG_RE.findall(rest) + (pending if "${args[@]}" in rest else [])
                known = self.flags(tool, sub)
                for flag in used:
                    if flag not in known:
                        self.problem(path, line + offset, f"`{tool} {sub}` has no flag `{flag}` (see `{tool} {sub} --help`)")
            if "${args[@]}" in raw:
                pending = []

    def strings(self, node):
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            for k, v in node.items():
                if k != "__line__":
                    yield from self.strings(v)
        elif isinstance(node, list):
            for v in node:
                yield from self.strings(v)

    def check_strings(self, path, node, line=None):
        """Every string in a YAML document, with the line of its nearest mapping."""
        if isinstance(node, dict):
            line = node.get("__line__", line)
            for k, v in node.items():
                if k == "__line__":
                    continue
                if isinstance(v, str):
                    self.check_command_text(path, line, v)
                else:
                    self.check_strings(path, v, line)
        elif isinstance(node, list):
            for v in node:
                if isinstance(v, str):
                    self.check_command_text(path, line, v)
                else:
                    self.check_strings(path, v, line)

    # Outputs: declared in a template's header, set by the tool.

    def declared_outputs(self, path):
        text = path.read_text()
        m = re.search(r"^# Outputs[^:]*:(.*(?:\n#\s{3,}.*)*)", text, re.M)
        if not m:
            return set()
        names = set(re.findall(r"\b([a-z]+[A-Z]\w*|[a-z]+\.[a-z]+[A-Z]\w*)\b", m.group(1)))
        for name in names:
            bare = name.split(".")[-1]
            dynamic = re.match(r"rule\d+(Passed|Candidate|Champion)$", bare)
            if dynamic and f'format!("rule{{n}}{dynamic.group(1)}")' in self.sources:
                continue
            if self.sources and f'"{bare}"' not in self.sources:
                self.problem(path, 1, f"output `{bare}` is declared, but no tool sets it")
        return names

    # Azure DevOps.

    def load(self, path):
        try:
            return yaml.load(path.read_text(), Lines)
        except yaml.YAMLError as e:
            self.problem(path, getattr(getattr(e, "problem_mark", None), "line", 0) + 1, f"not YAML: {e}")
            return None

    def ado_parameters(self, path):
        doc = self.load(path) or {}
        return {p["name"]: p for p in doc.get("parameters", []) if isinstance(p, dict)}

    def literal(self, value):
        return not (isinstance(value, str) and re.search(r"\$\{\{|\$\(|\$\[", value))

    def check_ado_call(self, path, ref, target, given, line):
        declared = self.ado_parameters(target)
        for name, value in given.items():
            if name == "__line__":
                continue
            if name not in declared:
                self.problem(path, line, f"template `{ref}` has no parameter `{name}` (it has: {', '.join(declared)})")
                continue
            spec, kind = declared[name], declared[name].get("type", "string")
            if not self.literal(value):
                continue
            ok = {
                "boolean": isinstance(value, bool),
                "number": isinstance(value, (int, float)) and not isinstance(value, bool),
                "string": isinstance(value, (str, int, float)) and not isinstance(value, bool),
            }.get(kind, True)
            if not ok:
                self.problem(path, line, f"parameter `{name}` of `{ref}` is a {kind}, not {type(value).__name__} `{value}`")
            elif "values" in spec and value not in spec["values"]:
                self.problem(path, line, f"parameter `{name}` of `{ref}` must be one of {spec['values']}, not `{value}`")
        for name, spec in declared.items():
            if "default" not in spec and name not in given:
                self.problem(path, line, f"template `{ref}` needs parameter `{name}`")

    def ado_calls(self, path, node):
        """(reference, target path, parameters, line) for every `template:` in a document, in order."""
        if isinstance(node, dict):
            if isinstance(node.get("template"), str) and "@" not in node["template"]:
                target = (path.parent / node["template"]).resolve()
                yield node["template"], target, node.get("parameters") or {}, node.get("__line__")
            for k, v in node.items():
                if k not in ("__line__", "parameters"):
                    yield from self.ado_calls(path, v)
        elif isinstance(node, list):
            for v in node:
                yield from self.ado_calls(path, v)

    def check_ado(self, path):
        doc = self.load(path)
        if doc is None:
            return
        known = {}  # step name → outputs it sets
        for ref, target, given, line in self.ado_calls(path, doc):
            if not target.is_file():
                self.problem(path, line, f"template `{ref}` does not exist")
                continue
            self.check_ado_call(path, ref, target, given, line)
            outputs = self.declared_outputs(target)
            params = self.ado_parameters(target)
            step = given.get("name", params.get("name", {}).get("default"))
            for output in outputs:
                if "." in output:
                    s, v = output.split(".")
                    known.setdefault(s, set()).add(v)
                elif step:
                    known.setdefault(step, set()).add(output)
        self.check_strings(path, doc)
        text = path.read_text()
        for number, raw in enumerate(text.splitlines(), 1):
            for m in re.finditer(r"outputs\['(?:\w+\.)?(\w+)\.(\w+)'\]", raw):
                step, var = m.groups()
                if var not in known.get(step, set()):
                    self.problem(path, number, f"`{step}.{var}` is read, but no step `{step}` here sets `{var}`" + (f" (it sets: {', '.join(sorted(known[step]))})" if step in known else ""))
            for m in re.finditer(r"\$\((\w+)\.(\w+)\)", raw):
                step, var = m.groups()
                if step in known and var not in known[step]:
                    self.problem(path, number, f"`$({step}.{var})` is read, but step `{step}` sets only {', '.join(sorted(known[step]))}")

    # GitHub.

    def action(self, ref):
        path = self.root / ref.lstrip("./") / "action.yml"
        return path, (self.load(path) if path.is_file() else None)

    def check_github_steps(self, path, steps, job_outputs_known):
        ids = {}
        for step in steps or []:
            if not isinstance(step, dict):
                continue
            line = step.get("__line__")
            uses = step.get("uses")
            if isinstance(uses, str) and uses.startswith("./"):
                target, action = self.action(uses)
                if action is None:
                    self.problem(path, line, f"action `{uses}` does not exist")
                    continue
                inputs = {k: v for k, v in (action.get("inputs") or {}).items() if k != "__line__"}
                given = {k for k in (step.get("with") or {}) if k != "__line__"}
                for name in given - set(inputs):
                    self.problem(path, line, f"action `{uses}` has no input `{name}` (it has: {', '.join(inputs)})")
                for name, spec in inputs.items():
                    if str(spec.get("required")).lower() == "true" and "default" not in spec and name not in given:
                        self.problem(path, line, f"action `{uses}` needs input `{name}`")
                if "id" in step:
                    ids[step["id"]] = {k for k in (action.get("outputs") or {}) if k != "__line__"}
        text = yaml.safe_dump(steps or [])
        for m in re.finditer(r"steps\.([\w-]+)\.outputs\.([\w-]+)", text):
            sid, var = m.groups()
            if sid in ids and var not in ids[sid]:
                self.problem(path, 1, f"`steps.{sid}.outputs.{var}` is read, but step `{sid}` sets only {', '.join(sorted(ids[sid]))}")
        return ids

    def check_action(self, path):
        doc = self.load(path)
        if doc is None:
            return
        for name, spec in (doc.get("outputs") or {}).items():
            if name == "__line__":
                continue
            m = re.search(r"steps\.run\.outputs\.(\w+)", str(spec.get("value", "")))
            if m and self.sources and f'"{m.group(1)}"' not in self.sources:
                self.problem(path, spec.get("__line__"), f"output `{m.group(1)}` is declared, but no tool sets it")
        self.check_strings(path, doc)

    def check_workflow(self, path):
        doc = self.load(path)
        if doc is None:
            return
        jobs = {k: v for k, v in (doc.get("jobs") or {}).items() if k != "__line__"}
        job_outputs = {name: {k for k in (job.get("outputs") or {}) if k != "__line__"} for name, job in jobs.items()}
        for name, job in jobs.items():
            ids = self.check_github_steps(path, job.get("steps"), job_outputs)
            for out, value in (job.get("outputs") or {}).items():
                if out == "__line__":
                    continue
                m = re.search(r"steps\.([\w-]+)\.outputs\.([\w-]+)", str(value))
                if m and m.group(1) in ids and m.group(2) not in ids[m.group(1)]:
                    self.problem(path, job.get("__line__"), f"job `{name}` output `{out}` reads `{m.group(0)}`, which step `{m.group(1)}` does not set")
        for number, raw in enumerate(path.read_text().splitlines(), 1):
            for m in re.finditer(r"needs\.([\w-]+)\.outputs\.([\w-]+)", raw):
                job, var = m.groups()
                if job in job_outputs and var not in job_outputs[job]:
                    self.problem(path, number, f"`needs.{job}.outputs.{var}` is read, but job `{job}` has outputs: {', '.join(sorted(job_outputs[job])) or 'none'}")
        self.check_strings(path, doc)

    # Jenkins.

    def groovy_steps(self):
        steps = {}
        for path in (self.root / "templates/jenkins/vars").glob("*.groovy"):
            m = re.search(r"^// Parameters: (.*)$", path.read_text(), re.M)
            if m:
                steps[path.stem] = set(re.findall(r"(?:^|,\s*)(\w+)", re.sub(r"\([^)]*\)", "", m.group(1))))
        return steps

    def check_groovy(self, path):
        text = path.read_text()
        # Argument lists: ['aml-register', 'model', '--name', …] plus later `argv += ['--tag', …]`.
        m = re.search(r"\['(" + "|".join(TOOLS) + r")', '([a-z-]+)'", text)
        if m:
            tool, sub = m.groups()
            known = self.flags(tool, sub)
            for number, raw in enumerate(text.splitlines(), 1):
                for flag in re.findall(r"'(--[a-z][a-z0-9-]*)'", raw):
                    if flag not in known:
                        self.problem(path, number, f"`{tool} {sub}` has no flag `{flag}`")
        for number, raw in enumerate(text.splitlines(), 1):
            for s in re.findall(r"\"([^\"]*)\"|'([^']*)'", raw):
                self.check_command_text(path, number, s[0] or s[1])
        steps = self.groovy_steps()
        for m in re.finditer(r"\b(" + "|".join(map(re.escape, steps)) + r")\(", text):
            depth, i, args = 1, m.end(), ""
            while i < len(text) and depth:
                depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(text[i], 0)
                if depth == 1 or (depth == 0 and text[i] not in ")]"):
                    args += text[i]
                elif depth > 1:
                    args += " "
                i += 1
            line = text[: m.start()].count("\n") + 1
            for key in re.findall(r"(?:^|[,(\s])(\w+)\s*:", re.sub(r"\"[^\"]*\"|'[^']*'", "''", args)):
                if key not in steps[m.group(1)]:
                    self.problem(path, line, f"step `{m.group(1)}` has no parameter `{key}` (it has: {', '.join(sorted(steps[m.group(1)]))})")

    # The flow the recipes and the demo share.

    def tools_in(self, text):
        found = []
        for raw in re.sub(r"\\\n", " ", text).splitlines():
            for m in TOOL_RE.finditer(raw):
                if m.group(2) in self.subcommands(m.group(1)):
                    found.append(m.group(1))
                    break
            else:
                m = re.search(r"\['(" + "|".join(TOOLS) + r")',", raw)
                if m:
                    found.append(m.group(1))
        return found

    def ado_flow(self, path, doc):
        flow = []
        for ref, target, given, line in self.ado_calls(path, doc):
            if not target.is_file():
                continue
            sub = self.load(target) or {}
            if "jobs" in sub:
                flow += self.ado_flow(target, sub)
            else:
                steps = [s for s in sub.get("steps", []) if isinstance(s, dict)]
                for s in steps:
                    flow += self.tools_in(s.get("bash", "") or "")[:1]
        return flow

    def check_flow(self):
        path = self.root / "xtask/demo-flow.txt"
        if not path.is_file():
            return
        want = [l.strip() for l in path.read_text().splitlines() if l.strip() and not l.startswith("#")]

        def collapse(tools):
            return [t for i, t in enumerate(tools) if i == 0 or tools[i - 1] != t]

        recipes = {
            "recipes/azure-devops/train-gate-deploy.yml": lambda p: self.ado_flow(p, self.load(p)),
            "recipes/github/train-gate-deploy.yml": lambda p: [t for job in (self.load(p).get("jobs") or {}).values() if isinstance(job, dict) for s in job.get("steps", []) if isinstance(s, dict) and str(s.get("uses", "")).startswith("./") for t in self.tools_in((self.action(s["uses"])[1] or {}).get("runs", {}).get("steps", [{}])[-1].get("run", ""))[:1]],
            "recipes/jenkins/Jenkinsfile": lambda p: [t for name in re.findall(r"\b(aml\w+|approvalGate\w+|smokeTest\w+)\(", p.read_text()) for t in self.tools_in((self.root / f"templates/jenkins/vars/{name}.groovy").read_text())[:1] if (self.root / f"templates/jenkins/vars/{name}.groovy").is_file()],
        }
        for rel, flow_of in recipes.items():
            p = self.root / rel
            if p.is_file():
                got = collapse(flow_of(p))
                if got != want:
                    self.problem(p, 1, f"runs the tools in the order {' → '.join(got)}, but `cargo xtask demo` runs {' → '.join(want)} (xtask/demo-flow.txt)")

    def run(self):
        for path in sorted(self.root.glob("templates/azure-devops/**/*.yml")) + sorted(self.root.glob("recipes/azure-devops/*.yml")):
            self.check_ado(path)
        for path in sorted(self.root.glob("templates/github/*/action.yml")):
            self.check_action(path)
        for path in sorted(self.root.glob("recipes/github/*.yml")):
            self.check_workflow(path)
        for path in sorted(self.root.glob("templates/jenkins/vars/*.groovy")) + sorted(self.root.glob("recipes/jenkins/Jenkinsfile*")):
            self.check_groovy(path)
        self.check_flow()
        return self.problems


def main():
    root, bin_dir = sys.argv[1], sys.argv[2]
    problems = Checker(root, bin_dir).run()
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
