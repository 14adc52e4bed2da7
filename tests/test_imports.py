"""Start-up: help, version and usage errors never load TensorFlow or sympy; TF never logs."""

import os
import subprocess
import sys

import pytest

HEAVY = ("tensorflow", "sympy", "jax", "jaxlib", "torch")


def run_module(*args: str) -> subprocess.CompletedProcess:
    code = (
        "import sys, runpy; sys.argv = ['gradcli', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('gradcli', run_name='__main__')\n"
        "finally:\n"
        "    import json; print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{HEAVY!r})), file=open(os.environ['GRADCLI_MODULES_OUT'], 'w'))\n"
    )
    return subprocess.run([sys.executable, "-c", "import os\n" + code, *args], capture_output=True, text=True)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--help"], 0),
        (["--version"], 0),
        (["grad", "--help"], 0),
        (["grad"], 2),
        (["grad", "x**2", "--const", "c=1"], 2),
        (["grad", "x**2", "--at", "x=1", "--format", "xml"], 2),
        (["nope"], 2),
        (["grad", "sqr(x)", "--at", "x=1"], 2),
    ],
)
def test_light_paths_do_not_import_tensorflow_or_sympy(args, code, tmp_path, monkeypatch):
    out = tmp_path / "modules.json"
    monkeypatch.setenv("GRADCLI_MODULES_OUT", str(out))
    proc = run_module(*args)
    assert proc.returncode == code, proc.stderr
    assert out.read_text().strip() == "[]"
    if code == 2:
        assert proc.stdout == "" and proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1


def test_a_real_run_prints_no_tensorflow_log_lines():
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    proc = subprocess.run(
        [sys.executable, "-m", "gradcli", "grad", "x**2+2*x-1", "--at", "x=2", "--format", "plain"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "6\n", "")


def test_version_and_help_text():
    from gradcli import __version__

    version = subprocess.run([sys.executable, "-m", "gradcli", "--version"], capture_output=True, text=True)
    assert version.stdout == f"gradcli {__version__}\n"
    help_text = subprocess.run([sys.executable, "-m", "gradcli", "grad", "--help"], capture_output=True, text=True)
    assert "Example: gradcli grad" in help_text.stdout
    assert "--at" in help_text.stdout and "--const" in help_text.stdout


def test_tensorflow_is_imported_without_its_optional_packages_which_still_import_later():
    code = (
        "import sys\n"
        "from gradcli.witnesses.tape import tensorflow\n"
        "tf = tensorflow()\n"
        "assert 'keras' not in sys.modules and 'h5py' not in sys.modules, sorted(sys.modules)\n"
        "import keras\n"
        "print('ok', tf.__version__)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok ")


def _completion(*args: str, **env: str) -> subprocess.CompletedProcess:
    # Typer's switch for naming the shell instead of detecting it (tests run under no particular shell).
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1", **env}
    return subprocess.run([sys.executable, "-m", "gradcli", *args], capture_output=True, text=True, env=env)


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o default -F _gradcli_completion gradcli"),
        ("zsh", "#compdef gradcli"),
        ("fish", "complete --command gradcli"),
    ],
)
def test_show_completion_prints_the_shell_script(shell, marker):
    proc = _completion("--show-completion", shell)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert marker in proc.stdout and "_GRADCLI_COMPLETE" in proc.stdout


def test_completion_completes_commands_and_options_without_heavy_imports(tmp_path, monkeypatch):
    words = {"COMP_WORDS": "gradcli gr", "COMP_CWORD": "1", "_GRADCLI_COMPLETE": "complete_bash"}
    assert _completion(**words).stdout.split() == ["grad"]
    words.update(COMP_WORDS="gradcli grad x --ord", COMP_CWORD="3")
    assert _completion(**words).stdout.split() == ["--order"]
    out = tmp_path / "modules.json"
    monkeypatch.setenv("GRADCLI_MODULES_OUT", str(out))
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    assert run_module("--show-completion", "bash").returncode == 0
    assert out.read_text().strip() == "[]"
