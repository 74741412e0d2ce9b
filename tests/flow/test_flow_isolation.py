"""voiceflow.flow depends on torch (and scipy's assignment solver) only: it never imports
voiceflow.models."""

import ast
import subprocess
import sys
from pathlib import Path

import voiceflow.flow

ALLOWED = {"__future__", "typing", "math", "dataclasses", "torch", "scipy"}


def test_imports_are_torch_and_flow_only():
    for path in Path(voiceflow.flow.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                ok = name.split(".")[0] in ALLOWED or name.startswith("voiceflow.flow")
                assert ok, f"{path.name} imports {name}"


def test_importing_flow_loads_no_model_code():
    code = ("import sys, voiceflow.flow; "
            "bad = [m for m in sys.modules if m.startswith('voiceflow.models')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
