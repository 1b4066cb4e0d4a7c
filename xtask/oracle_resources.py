"""Turn Azure Resource Manager's deployment and resource-group models Microsoft generated
(azure-mgmt-resource, the `resources` API the pinned version defaults to) into the JSON
schema the emulator holds its Microsoft.Resources requests and answers to, in the format
oracle_schema.py writes for Azure ML. Run by `cargo xtask test` with the venv's Python; the
output is a pure function of the pinned azure-mgmt-resource version.

Classes: what a resource-group deployment is sent (`Deployment`, `DeploymentWhatIf`) and
answers (`DeploymentExtended`, `DeploymentValidateResult`, `WhatIfOperationResult`,
`DeploymentOperationsListResult`), the resource group itself and ARM's error envelope, with
every model they reach."""

import json
import sys

from oracle_msrest import describe

from azure.mgmt.resource.resources import ResourceManagementClient

version = ResourceManagementClient.DEFAULT_API_VERSION
models = ResourceManagementClient.models(api_version=version)

classes = {}
for name in ["Deployment", "DeploymentWhatIf", "DeploymentExtended", "DeploymentValidateResult",
             "WhatIfOperationResult", "DeploymentOperationsListResult", "ResourceGroup", "ErrorResponse"]:
    describe(models, getattr(models, name), classes)

json.dump({"source": f"azure-mgmt-resource models, resources API {version}", "apiVersion": version,
           "classes": classes}, sys.stdout, indent=1, sort_keys=True)
