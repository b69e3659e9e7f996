"""Importing the runtime library stays light: no Django, no research code, no TensorFlow or dlib until a model is
first used (the rule in docs/ARCHITECTURE.md; import-linter checks the imports the code names, this checks what
actually gets loaded)."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import enhancement

REPO = Path(__file__).resolve().parent.parent


# The deblur generator's network definition is Keras code itself; inference imports it on first use only.
KERAS_DEFINITIONS = {"enhancement.deblur.model"}


def test_it_imports_every_enhancement_module_without_django_research_or_tensorflow():
    modules = sorted(m.name for m in pkgutil.walk_packages(enhancement.__path__, "enhancement.")
                     if not m.name.endswith("__main__") and m.name not in KERAS_DEFINITIONS)
    assert "enhancement.analysis.loop" in modules and "enhancement.deblur.inference" in modules
    code = ("import importlib, sys\n"
            f"for name in {modules!r}: importlib.import_module(name)\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'django', 'research', 'benchmarks', "
            "'tensorflow', 'keras', 'dlib', 'facecase', 'footage', 'suspects'})\n"
            "print(','.join(heavy))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "", f"importing enhancement loaded {done.stdout.strip()}"
