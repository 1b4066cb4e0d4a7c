#!/usr/bin/env python3
"""Derive a lenient copy of the Azure Pipelines service schema.

The published service-schema.json models almost every scalar as a JSON string
(the server reads YAML scalars as text), yet the `task:` step properties use
native boolean/integer types. Plain YAML such as `default: false`,
`continueOnError: true` or `timeoutInMinutes: 60` therefore fails JSON-schema
validation outside task steps, and `${{ parameters.x }}` fails inside them.

This script widens every scalar type so that strings, booleans and numbers are
all accepted, while keeping the structural rules (allowed keys, required keys,
step/job/stage shapes) intact. It also lets a whole compile-time expression
(`${{ parameters.name }}`) stand where a pattern is required (a step's `name`),
since the server expands it before checking.

usage: python3 relax_ado_schema.py azure-pipelines.schema.json > azure-pipelines.relaxed.schema.json
"""
import json
import sys

SCALARS = {"string", "boolean", "integer", "number"}
WIDE = ["string", "boolean", "number"]


EXPRESSION = r"^\$\{\{.*\}\}$"


def relax(node):
    if isinstance(node, dict):
        pattern = node.get("pattern")
        if isinstance(pattern, str):
            node["pattern"] = "(?:%s)|(?:%s)" % (pattern, EXPRESSION)
        t = node.get("type")
        if isinstance(t, str) and t in SCALARS:
            node["type"] = list(WIDE)
        elif isinstance(t, list) and set(t) & SCALARS:
            node["type"] = sorted(set(t) | set(WIDE))
        for v in node.values():
            relax(v)
    elif isinstance(node, list):
        for v in node:
            relax(v)
    return node


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "azure-pipelines.schema.json"
    with open(src, encoding="utf-8") as fh:
        schema = json.load(fh)
    schema = relax(schema)
    schema["$comment"] = (
        "Lenient derivative of microsoft/azure-pipelines-vscode service-schema.json: "
        "scalar types widened to string|boolean|number. " + str(schema.get("$comment", ""))
    )
    json.dump(schema, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
