"""``vhtqdm run`` and ``VHTQDM_AUTO=1`` on real jobs: every Python process a command starts, the
command's own exit code, output and signals, and the status a library's bar gets."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ..alerts.hooks import Webhook
from ..helpers import job_env, run_command, run_script
from ..server import StatusServer
from . import AUTO, labels, script, vhtqdm_run

pytestmark = pytest.mark.slow

# A job that only knows tqdm: a phase, then epochs of a nested bar with a loss.
JOB = """
import time
from {module} import tqdm, trange
for _ in tqdm(range(20), desc="prepare"):
    pass
for epoch in trange(3, desc="epoch"):
    bar = tqdm(range(10), desc="train", leave=False)
    for i in bar:
        time.sleep(0.05)
        bar.set_postfix(loss=1 / (i + 1))
print("trained", flush=True)
"""


def shape(status: str) -> list[str]:
    """A status without its times and rates: what it says, not when."""
    status = re.sub(r"\\u00b7 [0-9.]+(it|s)/(s|it) ", "", status)
    status = re.sub(r"(in|elapsed|ETA) [0-9:]+", r"\1 T", status)
    return re.sub(r'"value":[0-9.e-]+', '"value":V', status).splitlines()


def test_run_mirrors_a_script_that_only_imports_tqdm_auto(
    server: StatusServer, config_dir: Path, tmp_path: Path
) -> None:
    job = script(tmp_path / "job.py", JOB.format(module="tqdm.auto"))
    run = vhtqdm_run([sys.executable, str(job)], config_dir)
    assert run.code == 0, run.err
    assert run.out == "trained\n"
    final = server.last
    assert final is not None
    assert [t for t in final.texts() if t.startswith("prepare 20/20")], final.status
    assert labels(final)[0].startswith("epoch 3/3")
    assert final.texts()[-1].startswith("loss 0.1 \u00b7 min 0.1 \u00b7 max 1")
    # While the epochs ran: the whole job's gauge over the nested bars.
    assert any(label.startswith("job ") for post in server.posts for label in labels(post))


def test_a_library_bar_gets_the_status_vhtqdms_own_bar_gets(
    server: StatusServer, config_dir: Path, tmp_path: Path
) -> None:
    own = script(tmp_path / "own.py", JOB.format(module="vhtqdm.auto"))
    plain = script(tmp_path / "plain.py", JOB.format(module="tqdm.auto"))
    assert run_command([sys.executable, str(own)], config_dir, env=AUTO).code == 0
    ours = server.last
    assert ours is not None
    server.posts.clear()
    assert run_command([sys.executable, str(plain)], config_dir, env=AUTO).code == 0
    theirs = server.last
    assert theirs is not None
    assert shape(theirs.status) == shape(ours.status)


def test_preview_shows_what_run_mirrors(tmp_path: Path) -> None:
    # The README's way of seeing it before a cloud run: vhtqdm preview -- vhtqdm run -- python …
    job = script(tmp_path / "job.py", JOB.format(module="tqdm.auto"))
    vhtqdm = [sys.executable, "-m", "vhtqdm"]
    run = run_command(
        [*vhtqdm, "preview", "--port", "0", "--", *vhtqdm, "run", "--", sys.executable, str(job)],
        None,
        timeout=60,
    )
    assert run.code == 0, run.err
    assert run.out == "trained\n"
    report = run.err[run.err.index("its final status:") :].splitlines()
    assert any("epoch 3/3" in line for line in report), run.err
    assert any(line.strip().startswith("loss 0.1 ") for line in report), run.err


def test_run_keeps_the_commands_exit_code_output_and_process(config_dir: Path) -> None:
    source = "import os, sys; print(os.getpid()); sys.stderr.write('err\\n'); sys.exit(3)"
    env = job_env(config_dir)
    proc = subprocess.Popen(
        [sys.executable, "-m", "vhtqdm", "run", sys.executable, "-c", source],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3
    assert out == f"{proc.pid}\n".encode()  # the command replaced vhtqdm run: the same process
    assert err == b"err\n"


def test_a_signal_reaches_the_command_itself(config_dir: Path) -> None:
    source = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: sys.exit(42))\n"
        "print('ready', flush=True)\n"
        "time.sleep(30)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "vhtqdm", "run", "--", sys.executable, "-c", source],
        env=job_env(config_dir),
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 42


def test_run_says_why_a_command_cannot_run(tmp_path: Path) -> None:
    missing = vhtqdm_run(["no-such-command-vhtqdm"], None)
    assert (missing.code, missing.err) == (
        127,
        "vhtqdm run: command not found: no-such-command-vhtqdm\n",
    )
    (tmp_path / "not-executable").write_text("")
    denied = vhtqdm_run([str(tmp_path / "not-executable")], None)
    assert denied.code == 126 and denied.err.startswith("vhtqdm run: cannot run ")
    nothing = run_command([sys.executable, "-m", "vhtqdm", "run"], None)
    assert nothing.code == 2 and "no command given" in nothing.err


# -- every Python process of the command ----------------------------------------------------------

BAR = """
import time
from tqdm import tqdm
for _ in tqdm(range(10), desc="{desc}"):
    time.sleep(0.02)
"""


def final_labels(server: StatusServer) -> list[str]:
    assert server.last is not None, "nothing was posted"
    return labels(server.last)


def test_python_dash_m_a_module(server: StatusServer, config_dir: Path, tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    script(package / "__main__.py", BAR.format(desc="module"))
    run = vhtqdm_run([sys.executable, "-m", "pkg"], config_dir, env={"PYTHONPATH": str(tmp_path)})
    assert run.code == 0, run.err
    assert final_labels(server)[0].startswith("module 10/10")


def test_a_console_script(server: StatusServer, config_dir: Path, tmp_path: Path) -> None:
    # What pip installs for an entry point: an executable Python file with a #! line.
    tool = script(tmp_path / "tool", f"#!{sys.executable}\n" + BAR.format(desc="tool"))
    tool.chmod(0o755)
    run = vhtqdm_run([str(tool)], config_dir)
    assert run.code == 0, run.err
    assert final_labels(server)[0].startswith("tool 10/10")


def test_a_shell_script_that_starts_python(
    server: StatusServer, config_dir: Path, tmp_path: Path
) -> None:
    job = script(tmp_path / "job.py", BAR.format(desc="from-shell"))
    steps = script(tmp_path / "steps.sh", f"set -e\necho preparing\n{sys.executable} {job}\n")
    run = vhtqdm_run(["sh", str(steps)], config_dir)
    assert run.code == 0, run.err
    assert run.out == "preparing\n"
    assert final_labels(server)[0].startswith("from-shell 10/10")


CHILDREN = """
import multiprocessing, subprocess, sys, time
from tqdm import tqdm

CHILD = "import time, tqdm\\nfor _ in tqdm.trange(10, desc='subprocess'): time.sleep(0.1)"

def child(desc):
    for _ in tqdm(range(10), desc=desc):
        time.sleep(0.1)

if __name__ == "__main__":
    method = sys.argv[1]
    for i in tqdm(range(30), desc="parent"):
        if i == 2 and method == "subprocess":
            worker = subprocess.Popen([sys.executable, "-c", CHILD])
        elif i == 2:
            worker = multiprocessing.get_context(method).Process(target=child, args=(method,))
            worker.start()
        time.sleep(0.1)
    worker.wait() if method == "subprocess" else worker.join()
"""


@pytest.mark.parametrize("method", ["spawn", "forkserver", "fork", "subprocess"])
def test_childrens_bars_reach_the_status(
    server: StatusServer, config_dir: Path, tmp_path: Path, method: str
) -> None:
    job = script(tmp_path / "job.py", CHILDREN)
    run = vhtqdm_run([sys.executable, str(job), method], config_dir, timeout=90)
    assert run.code == 0, run.err
    seen = {label.split(" ")[0] for post in server.posts for label in labels(post)}
    assert {"parent", method} <= seen, seen


def test_auto_in_the_environment_needs_no_wrapper(
    server: StatusServer, config_dir: Path, tmp_path: Path
) -> None:
    job = script(tmp_path / "job.py", BAR.format(desc="env"))
    run = run_command([sys.executable, str(job)], config_dir, env=AUTO)
    assert run.code == 0, run.err
    assert final_labels(server)[0].startswith("env 10/10")


def test_a_library_bar_alerts_off_valohai_as_vhtqdms_own_bar_does(tmp_path: Path) -> None:
    # Off Valohai (no api.json) with an alert URL: vhtqdm's own bars alert, so must tqdm's.
    hook = Webhook("json")
    try:
        job = script(tmp_path / "job.py", BAR.format(desc="local"))
        run = vhtqdm_run([sys.executable, str(job)], None, env={"VHTQDM_ALERT_URL": hook.url})
        assert run.code == 0, run.err
        (told,) = [call.body for call in hook.calls]
        assert told["event"] == "finished" and told["lines"][0].startswith("local 10/10"), told
    finally:
        hook.close()


# -- log mode, as for vhtqdm's own bars ------------------------------------------------------------

LOGGED = """
import sys, time
from tqdm.auto import tqdm
with tqdm(total=40, desc="train") as bar:
    for i in range(40):
        time.sleep(0.025)
        bar.update()
for _ in tqdm(range(5), desc="hidden", disable=None):
    pass
"""


def test_a_library_bar_prints_log_lines_in_a_log_as_vhtqdms_does(
    server: StatusServer, config_dir: Path
) -> None:
    run = run_script(LOGGED, config_dir, env={**AUTO, "VHTQDM_LOG_INTERVAL": "0.3"}, raw=True)
    assert run.code == 0, run.err
    assert "\r" not in run.err and "\x1b" not in run.err
    lines = run.err.splitlines()
    assert 2 <= len(lines) <= run.seconds / 0.3 + 1, lines
    assert lines[-1].startswith("train: 100%") and "40/40" in lines[-1]
    assert "hidden" not in run.err  # disable=None off a terminal: silent, as tqdm would be,
    assert final_labels(server)[0].startswith("hidden 5/5")  # but counted for the status


def test_run_says_when_its_python_has_no_hook_on_valohai_or_alerting(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    config_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # vhtqdm found only through PYTHONPATH (no .pth in any site-packages): on Valohai the bars
    # would silently stay plain, so run says it before it runs the command.
    from vhtqdm._cli import main, run

    monkeypatch.setattr(run.site, "getsitepackages", lambda: [str(tmp_path)])
    monkeypatch.setattr(run.site, "getusersitepackages", lambda: str(tmp_path))
    assert not run.hook_installed()

    def not_found(*args: object) -> None:
        raise FileNotFoundError  # the command is not run: only what comes before it matters

    monkeypatch.setattr(run.os, "execvpe", not_found)
    monkeypatch.setenv("VH_CONFIG_DIR", str(config_dir))
    assert main(["run", "true"]) == 127
    assert (
        "start-up hook (vhtqdm_auto.pth) is not in this Python's site-packages"
        in capsys.readouterr().err
    )
    monkeypatch.setenv("VH_CONFIG_DIR", str(tmp_path / "nowhere"))  # off Valohai: nothing to say
    assert main(["run", "true"]) == 127
    assert capsys.readouterr().err == "vhtqdm run: command not found: true\n"
    monkeypatch.setenv("VHTQDM_ALERT_URL", "http://127.0.0.1:9/hook")  # unless it would alert
    assert main(["run", "true"]) == 127
    assert "start-up hook (vhtqdm_auto.pth)" in capsys.readouterr().err
