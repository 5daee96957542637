"""`import vhtqdm as tqdm`: the names of tqdm's top level, mirrored where vhtqdm has a flavour."""

from __future__ import annotations

import pytest
import tqdm

import vhtqdm

from .helpers import run_script

# The names of `tqdm.__all__` that vhtqdm deliberately does not export, and why.
NOT_EXPORTED = {
    # vhtqdm has no matplotlib flavour; tqdm's own aliases are deprecated ("remove in v5.0.0"), and
    # re-exporting them would hand out bars that are never mirrored under vhtqdm's name.
    "tqdm_gui": "no gui flavour",
    "tgrange": "no gui flavour",
    # tqdm's command line (also deprecated at tqdm's top level): vhtqdm's is the `vhtqdm` command.
    "main": "the command is `vhtqdm` / `python -m vhtqdm`",
    # vhtqdm.__version__ exists, and is vhtqdm's own version, not tqdm's.
    "__version__": "vhtqdm's own version",
}


def test_every_name_of_tqdms_top_level_is_exported_or_excluded_with_a_reason() -> None:
    assert set(tqdm.__all__) <= set(vhtqdm.__all__) | set(NOT_EXPORTED)
    assert not set(NOT_EXPORTED) & set(vhtqdm.__all__)
    assert set(NOT_EXPORTED) <= set(tqdm.__all__), "an exclusion of a name tqdm no longer has"
    for name in vhtqdm.__all__:
        assert getattr(vhtqdm, name) is not None, name
    assert set(vhtqdm.__all__) <= set(dir(vhtqdm))


def test_warnings_and_errors_are_tqdms_own_classes() -> None:
    for name in [n for n in tqdm.__all__ if n.startswith(("Tqdm", "TMonitor"))]:
        assert getattr(vhtqdm, name) is getattr(tqdm, name), name
    assert vhtqdm.tqdm_pandas is tqdm.tqdm_pandas  # takes the class: tqdm_pandas(vhtqdm.tqdm)


@pytest.mark.parametrize("name", ["tnrange", "tqdm_notebook"])
def test_the_notebook_shortcuts_make_notebook_bars_and_warn_as_tqdms_do(name: str) -> None:
    import vhtqdm.notebook

    args = (3,) if name == "tnrange" else (range(3),)
    with pytest.warns(tqdm.TqdmDeprecationWarning, match=f"instead of `vhtqdm.{name}`"):
        bar = getattr(vhtqdm, name)(*args, disable=True)  # disabled: needs no ipywidgets
    assert isinstance(bar, vhtqdm.notebook.tqdm) and isinstance(bar, vhtqdm.tqdm)
    assert list(bar) == [0, 1, 2]


def test_import_vhtqdm_loads_the_notebook_flavour_only_when_asked() -> None:
    run = run_script(
        """
        import sys
        import tqdm
        before = set(sys.modules)  # what tqdm loads itself (json on 3.13: importlib.metadata)
        import vhtqdm
        from vhtqdm import *
        heavy = ("tqdm.notebook", "vhtqdm.notebook", "ipywidgets", "json", "requests")
        print([m for m in heavy if m in sys.modules and m not in before])
        vhtqdm.tnrange(1, disable=True)
        print("vhtqdm.notebook" in sys.modules)
        """,
        None,
    )
    assert run.code == 0, run.err
    assert run.out.splitlines() == [
        "[]",
        "True",
    ]
