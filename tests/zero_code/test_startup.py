"""The start-up hook: shipped in site-packages, silent while ``VHTQDM_AUTO`` is unset, and off
Valohai nothing but a look for ``api.json``."""

from __future__ import annotations

import importlib.metadata
import json
import os
import site
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import _vhtqdm_auto
from vhtqdm import _config

from ..helpers import job_env, run_script
from ..server import StatusServer
from . import AUTO, vhtqdm_run

pytestmark = pytest.mark.slow


def installed_hook() -> Path:
    """The ``.pth`` that vhtqdm's installation put at the top of a site-packages directory."""
    files = importlib.metadata.files("vhtqdm") or []
    (pth,) = [f for f in files if f.name == "vhtqdm_auto.pth"]
    path = Path(str(pth.locate())).resolve()
    assert str(path.parent) in {str(Path(d).resolve()) for d in site.getsitepackages()}, path
    return path


def test_the_wheel_puts_the_hook_and_its_module_at_the_top_of_site_packages() -> None:
    hook = installed_hook()
    assert (hook.parent / "_vhtqdm_auto.py").is_file()
    # One line: an import line (site executes those), reading VHTQDM_AUTO and nothing else first.
    assert hook.read_text().splitlines() == [
        'import os; os.environ.get("VHTQDM_AUTO") and __import__("_vhtqdm_auto").start()'
    ]


def test_the_hook_reads_yes_and_the_config_dir_as_the_settings_do() -> None:
    assert _vhtqdm_auto.YES == _config.YES
    assert _vhtqdm_auto.DEFAULT_CONFIG_DIR == _config.DEFAULT_CONFIG_DIR
    assert _vhtqdm_auto.VARIABLE in [v.name for v in _config.VARIABLES]


# What an interpreter holds after start-up, and tqdm's classes once imported: run with ``-S``
# (no site processing) and this interpreter's path on PYTHONPATH, then site.addsitedir()
# of a directory holding either a copy of vhtqdm's installed .pth or one with a comment only:
# the one difference between the two interpreters is whether vhtqdm's hook ran.
SNAPSHOT = """
import site, sys
site.addsitedir(sys.argv[1])
modules = sorted(sys.modules)
import json
import tqdm, tqdm.asyncio, tqdm.auto, tqdm.autonotebook, tqdm.contrib, tqdm.contrib.concurrent
import tqdm.std

def describe(value):
    code = getattr(value, "__code__", None)
    where = (code.co_filename, code.co_firstlineno) if code else None
    return [type(value).__name__, getattr(value, "__qualname__", None), where]

classes = {}
for cls in (tqdm.std.tqdm, tqdm.auto.tqdm, tqdm.asyncio.tqdm_asyncio, tqdm.autonotebook.tqdm):
    classes[cls.__qualname__] = {k: describe(v) for k, v in sorted(vars(cls).items())}
print(json.dumps({"modules": modules, "classes": classes}))
"""


def snapshot(hook_dir: Path, env: dict[str, str]) -> dict[str, Any]:
    # This interpreter's path as its site processing made it (an editable install's source
    # directory included), without running any .pth.
    path = os.pathsep.join(p for p in sys.path if p)
    proc = subprocess.run(
        [sys.executable, "-S", "-c", SNAPSHOT, str(hook_dir)],
        env={**env, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


@pytest.mark.parametrize("on_valohai", [False, True], ids=["off Valohai", "on Valohai"])
def test_an_unset_variable_leaves_modules_and_tqdms_classes_as_without_vhtqdm(
    tmp_path: Path, config_dir: Path, on_valohai: bool
) -> None:
    with_hook, without = tmp_path / "with", tmp_path / "without"
    with_hook.mkdir()
    without.mkdir()
    (with_hook / "vhtqdm_auto.pth").write_text(installed_hook().read_text())
    # site reads a .pth either way (reading one loads _bootlocale on 3.9): only the line differs.
    (without / "vhtqdm_auto.pth").write_text("# no hook\n")
    env = job_env(config_dir if on_valohai else None)
    assert snapshot(with_hook, env) == snapshot(without, env)
    # The comparison can tell: with the variable set, on Valohai, the hook leaves its marks.
    if on_valohai:
        marked = snapshot(with_hook, {**env, "VHTQDM_AUTO": "1"})
        assert "_vhtqdm_auto" in marked["modules"]
        std = marked["classes"]["tqdm"]
        assert std["__init__"][2][0].endswith("_instrument.py") and "_vh_own" in std


STARTUP = """
import sys, threading
print(sorted(m for m in sys.modules if "vhtqdm" in m or m.startswith("tqdm")))
import tqdm
print("instrumented", "_vh_own" in vars(tqdm.tqdm), threading.active_count())
"""


def test_python_starts_with_nothing_of_vhtqdm_loaded_while_the_variable_is_unset(
    config_dir: Path,
) -> None:
    run = run_script(STARTUP, config_dir)
    assert run.code == 0, run.err
    assert run.out.splitlines() == ["[]", "instrumented False 1"]


# A bar with a deterministic meter: the terminal's bytes can be compared exactly.
PLAIN = """
import sys, threading
from tqdm.auto import tqdm, trange
for i in trange(3, desc="epoch", bar_format="{desc} {n}/{total} {postfix}", mininterval=0):
    bar = tqdm(range(5), desc="train", bar_format="{desc} {n}/{total} {postfix}", mininterval=0)
    for j in bar:
        bar.set_postfix(loss=1 / (j + 1))
print(sorted(m for m in sys.modules if m.startswith("vhtqdm")))
print(sorted(t.name for t in threading.enumerate()))
import tqdm.std
print("instrumented", "_vh_own" in vars(tqdm.std.tqdm))
"""


def test_off_valohai_auto_changes_no_byte_and_starts_no_thread(tmp_path: Path) -> None:
    plain = run_script(PLAIN, None, raw=True)
    auto = run_script(PLAIN, None, env=AUTO, raw=True)
    wrapped = vhtqdm_run([sys.executable, "-c", PLAIN], None, raw=True)
    assert plain.code == auto.code == wrapped.code == 0, plain.err + auto.err + wrapped.err
    assert "\r" in plain.err and plain.out.endswith("\ninstrumented False\n")
    assert (auto.out, auto.err) == (plain.out, plain.err)
    assert (wrapped.out, wrapped.err) == (plain.out, plain.err)


@pytest.mark.parametrize(
    "env", [{"VHTQDM_AUTO": "0"}, {**AUTO, "VHTQDM_DISABLE": "1"}], ids=["AUTO=0", "DISABLE=1"]
)
def test_auto_0_or_disable_1_leaves_tqdm_plain_on_valohai(
    server: StatusServer, config_dir: Path, env: dict[str, str]
) -> None:
    run = run_script(PLAIN, config_dir, env=env)
    assert run.code == 0, run.err
    assert run.out.splitlines()[-1] == "instrumented False"
    assert server.posts == []


def test_a_bad_auto_value_is_one_warning_as_for_any_setting(
    server: StatusServer, config_dir: Path
) -> None:
    run = run_script(
        "from vhtqdm import tqdm\nfor _ in tqdm(range(3)): pass",
        config_dir,
        env={"VHTQDM_AUTO": "maybe"},
    )
    assert run.code == 0, run.err
    assert "VHTQDM_AUTO='maybe' is not a yes or no" in run.err
    assert run.err.count("VHTQDM_AUTO") == 1
