"""azure-ai-ml as the oracle of the fidelity test: which corpus files it loads, and why it
refuses the others. Prints {file: {kind, accepted, why}} as JSON; `kind` is the `$schema`'s
name (`commandjob`, `managedonlinedeployment`, ...), files without a loadable one are left out.

usage: python oracle.py CORPUS_DIR
"""
import json, os, re, sys, warnings, logging
warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)
from azure.ai.ml.entities import _load_functions as ml  # every loader, the batch ones included

LOADERS = {
    "commandjob": "load_job", "pipelinejob": "load_job", "sweepjob": "load_job", "sparkjob": "load_job",
    "automljob": "load_job",
    "managedonlineendpoint": "load_online_endpoint", "kubernetesonlineendpoint": "load_online_endpoint",
    "managedonlinedeployment": "load_online_deployment", "kubernetesonlinedeployment": "load_online_deployment",
    "batchendpoint": "load_batch_endpoint",
    "batchdeployment": "load_batch_deployment", "modelbatchdeployment": "load_model_batch_deployment",
    "pipelinecomponentbatchdeployment": "load_pipeline_component_batch_deployment",
    "model": "load_model", "environment": "load_environment", "data": "load_data",
    "commandcomponent": "load_component", "pipelinecomponent": "load_component", "sparkcomponent": "load_component",
}

def kind_of(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.match(r"^\$schema:\s*(\S+)", line)
            if m:
                name = m.group(1).rstrip("/").split("/")[-1].lower()
                return name.replace(".schema.json", "").replace(".json", "")
    return None

root = sys.argv[1]
out = {}
for dirpath, _, files in os.walk(root):
    for name in sorted(files):
        if not name.endswith((".yml", ".yaml")):
            continue
        path = os.path.join(dirpath, name)
        kind = kind_of(path)
        loader = LOADERS.get(kind or "")
        if loader is None:
            continue
        rel = os.path.relpath(path, root)
        try:
            getattr(ml, loader)(path)
            out[rel] = {"kind": kind, "accepted": True}
        except Exception as e:  # the oracle's refusal, whatever its type
            out[rel] = {"kind": kind, "accepted": False, "why": str(e).splitlines()[0][:300] if str(e) else type(e).__name__}
json.dump(out, sys.stdout, indent=1, sort_keys=True)
