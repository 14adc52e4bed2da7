"""docs/design.md names every module of the package, so the map cannot go stale."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "gradcli"
DESIGN = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
MODULES = sorted(
    p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py") if p.name not in ("__init__.py", "__main__.py")
)


@pytest.mark.parametrize("module", MODULES)
def test_every_module_is_on_the_map(module):
    folder, _, name = module.rpartition("/")
    stem = name.removesuffix(".py")
    named = module in DESIGN or name in DESIGN or (folder.endswith("commands") and stem in DESIGN)
    assert named, f"docs/design.md does not name gradcli/{module}: add it to the module map"


def test_the_layers_on_the_map_are_the_contracts():
    contract = (ROOT / ".importlinter").read_text(encoding="utf-8")
    pipeline = contract.split("[importlinter:contract:pipeline]")[1].split("[importlinter:")[0]
    layers = [line.strip() for line in pipeline.splitlines() if line.startswith("    gradcli.")]
    drawn = " > ".join(layer.replace("gradcli.", "") for layer in layers)
    assert drawn in DESIGN, f"docs/design.md should draw the pipeline as the contract has it: {drawn}"
