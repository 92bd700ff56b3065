"""``atsbridge sandbox``: sizes within bounds (exit 2 naming the option), seeding progress."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request

import pytest
from atsbridge.cli import cli
from atsbridge.cli.sandbox import MAX_PEOPLE
from atsbridge.model import SandboxOptions
from atsbridge.plugins import PluginRegistry
from atsbridge_sdk.sandbox import make_world, seed_progress
from click.testing import CliRunner


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--jobs", "20001"], "--jobs"),
        (["--candidates", "1001"], "--candidates"),
        (["--jobs", "20000", "--candidates", "1000"], "--candidates"),
        (["--jobs", "-1"], "--jobs"),
    ],
)
def test_absurd_sizes_exit_2_naming_the_option(args: list[str], option: str) -> None:
    result = CliRunner().invoke(cli, ["sandbox", "lever", *args])
    assert result.exit_code == 2, result.output
    assert option in result.stderr and "Traceback" not in result.output


def test_the_largest_allowed_world_is_the_bound() -> None:
    result = CliRunner().invoke(cli, ["sandbox", "lever", "--jobs", "401", "--candidates", "500"])
    assert result.exit_code == 2 and f"at most {MAX_PEOPLE:,}" in result.stderr


@pytest.mark.parametrize("ats", ["greenhouse", "lever", "smartrecruiters", "workday"])
def test_every_sandbox_reports_generating_and_loading(ats: str) -> None:
    seen: list[tuple[str, int, int]] = []
    plugin = PluginRegistry.discover().get(ats)
    with seed_progress(lambda phase, done, total: seen.append((phase, done, total))):
        plugin.call("atsbridge_sandbox", options=SandboxOptions(jobs=100, candidates_per_job=25))
    assert ("generating", 1000, 2500) in seen and ("generating", 2500, 2500) in seen
    loading = [done for phase, done, _ in seen if phase == "loading"]
    assert loading and loading[-1] == 2500 and loading == sorted(loading)


def test_no_progress_hook_no_reports_and_the_same_world() -> None:
    with seed_progress(lambda *_: None):
        reported = make_world(3, 10, 4)
    plain = make_world(3, 10, 4)
    assert [j.title for j in reported.jobs] == [j.title for j in plain.jobs]
    assert dict(reported.pipelines) == plain.pipelines


def test_sandbox_command_shows_seeding_and_json_once_listening() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "atsbridge.cli",
            "sandbox",
            "lever",
            "--jobs",
            "100",
            "--candidates",
            "30",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        lines = []
        while not lines or lines[-1] != "}\n":
            lines.append(proc.stdout.readline())
        data = json.loads("".join(lines))
        assert data["ats"] == "lever" and data["url"].startswith("http://127.0.0.1:")
        # The control API it names answers, without credentials (what sandbox-ctl calls).
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        assert data["control"] == data["url"] + "/_sandbox/"
        with opener.open(data["control"] + "jobs?status=open", timeout=10) as answer:
            jobs = json.loads(answer.read())["jobs"]
        assert jobs and {j["status"] for j in jobs} == {"open"}
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert out == ""
        assert "seeding the lever sandbox: generating people, 3,000 of 3,000 (100%)" in err
        assert "seeding the lever sandbox: loading people, 3,000 of 3,000 (100%)" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
