"""Hold ARM templates and their parameters files to Azure's official JSON schemas, vendored in
contracts/arm/ from Azure/azure-resource-manager-schemas (MIT): the whole template to
deploymentTemplate.json (2019-04-01), each resource to its type's definition at its
apiVersion from the provider's schema, and each parameters file to deploymentParameters.json.
The template schema's list of every resource type ever (a file the mirror does not carry) is
replaced by each resource's own type's definition; a type whose provider schema has no
resource definition (the extension resource Microsoft.KubernetesConfiguration/extensions) is
held to the resource base and its properties' definition.

Usage: python check_arm.py CONTRACTS_DIR TEMPLATE [PARAMETERS...]
Prints each problem as `file: path: message`; exits 1 if there is one."""

import json
import pathlib
import sys

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

BASE = "https://schema.management.azure.com/schemas/"


def relax(node):
    """The generator writes a polymorphic type (Compute by `computeType`) as
    `allOf: [{common fields, additionalProperties: false}, {oneOf: [each variant]}]`; under
    draft-04 the first member refuses every variant's own fields (a variant's `properties`).
    Such a member keeps its fields but stops refusing the others; the variants still check
    theirs."""
    if isinstance(node, dict):
        members = node.get("allOf")
        if isinstance(members, list) and any(isinstance(m, dict) and "oneOf" in m for m in members):
            for member in members:
                if isinstance(member, dict) and member.get("additionalProperties") is False:
                    del member["additionalProperties"]
        for value in node.values():
            relax(value)
    elif isinstance(node, list):
        for value in node:
            relax(value)
    return node


def load(path):
    with open(path, encoding="utf-8-sig") as f:
        return json.load(f)


def main():
    contracts = pathlib.Path(sys.argv[1])
    template_path = pathlib.Path(sys.argv[2])
    parameter_paths = [pathlib.Path(p) for p in sys.argv[3:]]
    schemas = {}
    for path in sorted(contracts.rglob("*.json")):
        uri = BASE + path.relative_to(contracts).as_posix()
        schemas[uri] = relax(load(path))
    registry = Registry().with_resources(
        (uri, Resource.from_contents(doc, default_specification=DRAFT4)) for uri, doc in schemas.items()
    )
    template_schema = json.loads(json.dumps(schemas[BASE + "2019-04-01/deploymentTemplate.json"]))
    template_schema["definitions"]["resource"] = {"type": "object"}
    problems = []

    def check(validator, instance, where):
        for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
            at = "/".join(str(p) for p in error.absolute_path)
            problems.append(f"{where}: {at or '(root)'}: {error.message[:300]}")

    template = load(template_path)
    check(Draft4Validator(template_schema, registry=registry), template, template_path)

    # Each resource type and apiVersion the vendored provider schemas define.
    definitions = {}
    for uri, doc in schemas.items():
        for name, definition in (doc.get("resourceDefinitions") or {}).items():
            props = definition.get("properties", {})
            kinds = props.get("type", {}).get("enum", [])
            versions = props.get("apiVersion", {}).get("enum", [])
            for kind in kinds:
                for version in versions:
                    definitions[(kind.lower(), version)] = f"{uri}#/resourceDefinitions/{name}"
    extension = BASE + "2023-05-01/Microsoft.KubernetesConfiguration.json"
    base = BASE + "2019-04-01/deploymentTemplate.json#/definitions/resourceBase"
    resources = template.get("resources", [])
    items = resources.values() if isinstance(resources, dict) else resources
    for index, resource in enumerate(items):
        kind, version = str(resource.get("type", "")), str(resource.get("apiVersion", ""))
        where = f"{template_path}: resources/{index} ({kind}@{version})"
        ref = definitions.get((kind.lower(), version))
        if ref is None and kind.lower() == "microsoft.kubernetesconfiguration/extensions" and version == "2023-05-01":
            schema = {"allOf": [{"$ref": base}, {"properties": {"properties": {"$ref": extension + "#/definitions/ExtensionProperties"}}}]}
        elif ref is None:
            problems.append(f"{where}: no vendored schema defines this type at this apiVersion (contracts/arm/)")
            continue
        else:
            # A child resource written at the top level has its parent in its name.
            if kind.count("/") > 1:
                schema = {"$ref": ref}
                resource = dict(resource)
                resource["name"] = resource.get("name", "")
            else:
                schema = {"allOf": [{"$ref": base}, {"$ref": ref}]}
        check(Draft4Validator(schema, registry=registry), resource, where)

    parameters_schema = schemas[BASE + "2019-04-01/deploymentParameters.json"]
    for path in parameter_paths:
        check(Draft4Validator(parameters_schema, registry=registry), load(path), path)

    for problem in problems:
        print(problem)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
