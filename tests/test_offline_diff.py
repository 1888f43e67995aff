"""scripts/offline_diff.py: its pure parts on tiny fake cloud assemblies, git on a throwaway repository, and the
real `cdk diff --app <assembly> --template <file>` on two fake assemblies (no synth, no AWS: about 5 s)."""

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import offline_diff
from offline_diff import OfflineDiffError, Report, StackDiff, StackPair, StackTemplate

UNKNOWN_ENV = "aws://unknown-account/unknown-region"


def write_assembly(directory: Path, templates: dict[str, dict[str, Any]], extra: dict[str, Any] | None = None) -> Path:
    """A minimal cloud assembly the CDK CLI reads: a manifest naming one stack artifact per template."""
    directory.mkdir(parents=True, exist_ok=True)
    artifacts: dict[str, Any] = {
        "Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}},
    }
    for stack_id, template in templates.items():
        (directory / f"{stack_id}.template.json").write_text(json.dumps(template), encoding="utf-8")
        artifacts[stack_id] = {
            "type": "aws:cloudformation:stack",
            "environment": UNKNOWN_ENV,
            "displayName": stack_id,
            "properties": {"templateFile": f"{stack_id}.template.json", "stackName": f"app-{stack_id.lower()}"},
        }
        artifacts[f"{stack_id}.assets"] = {"type": "cdk:asset-manifest", "properties": {"file": "x.assets.json"}}
    artifacts.update(extra or {})
    (directory / "manifest.json").write_text(json.dumps({"version": "36.0.0", "artifacts": artifacts}), "utf-8")
    return directory


def queue(timeout: int) -> dict[str, Any]:
    return {"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": timeout}}}}


TOPIC = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}


def stack(name: str, template: Path) -> StackTemplate:
    return StackTemplate(display_name=name, stack_name=f"app-{name.lower()}", template=template)


# --- cloud assembly --------------------------------------------------------------------------------------------------


def test_read_assembly_lists_only_stacks_in_manifest_order(tmp_path: Path) -> None:
    assembly = write_assembly(tmp_path / "a", {"Endpoint": TOPIC, "Monitoring": queue(30)})

    stacks = offline_diff.read_assembly(assembly)

    assert list(stacks) == ["Endpoint", "Monitoring"]
    assert stacks["Monitoring"] == StackTemplate("Monitoring", "app-monitoring", assembly / "Monitoring.template.json")


def test_read_assembly_follows_nested_assemblies_of_stages(tmp_path: Path) -> None:
    nested = write_assembly(tmp_path / "a" / "assembly-Prod", {})
    (nested / "Api.template.json").write_text(json.dumps(TOPIC), encoding="utf-8")
    manifest = json.loads((nested / "manifest.json").read_text(encoding="utf-8"))
    manifest["artifacts"]["ProdApi"] = {
        "type": "aws:cloudformation:stack",
        "environment": UNKNOWN_ENV,
        "displayName": "Prod/Api",
        "properties": {"templateFile": "Api.template.json", "stackName": "Prod-Api"},
    }
    (nested / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    stage = {"assembly-Prod": {"type": "cdk:cloud-assembly", "properties": {"directoryName": "assembly-Prod"}}}
    assembly = write_assembly(tmp_path / "a", {"Top": TOPIC}, extra=stage)

    stacks = offline_diff.read_assembly(assembly)

    assert list(stacks) == ["Top", "Prod/Api"]
    assert stacks["Prod/Api"].template == nested / "Api.template.json"
    assert stacks["Prod/Api"].stack_name == "Prod-Api"


def test_read_assembly_without_manifest_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(OfflineDiffError, match="manifest"):
        offline_diff.read_assembly(tmp_path)


def test_pair_stacks_keeps_working_tree_order_then_removed_stacks(tmp_path: Path) -> None:
    base = {name: stack(name, tmp_path / f"base-{name}") for name in ("Endpoint", "Legacy", "Monitoring")}
    work = {name: stack(name, tmp_path / f"work-{name}") for name in ("Monitoring", "Endpoint", "Retrain")}

    pairs = offline_diff.pair_stacks(base, work)

    assert [(pair.display_name, pair.kind) for pair in pairs] == [
        ("Monitoring", "both"),
        ("Endpoint", "both"),
        ("Retrain", "new"),
        ("Legacy", "removed"),
    ]
    assert pairs[0].base == base["Monitoring"] and pairs[0].work == work["Monitoring"]


# --- command lines and environment ------------------------------------------------------------------------------------


def test_diff_command_compares_one_stack_of_an_assembly_with_a_template_file() -> None:
    command = offline_diff.diff_command(Path("/r/cdk"), Path("/t/work"), Path("/t/base/S.template.json"), "S", False)

    assert command[:2] == ["/r/cdk", "diff"]
    assert command[command.index("--app") + 1] == "/t/work"  # a directory: the CLI reads it, runs no app
    assert command[command.index("--template") + 1] == "/t/base/S.template.json"  # implies --method=template
    assert {"--exclusively", "--no-notices", "--no-color"} <= set(command)
    assert command[-1] == "S"
    assert "--color" in offline_diff.diff_command(Path("c"), Path("w"), Path("b"), "S", True)


def test_synth_command_passes_context_through() -> None:
    command = offline_diff.synth_command(Path("/r/cdk"), Path("/t/out"), ["stage=prod", "settings.x=1"])

    assert command[:3] == ["/r/cdk", "synth", "--quiet"]
    assert command[command.index("--output") + 1] == "/t/out"
    assert command[-4:] == ["--context", "stage=prod", "--context", "settings.x=1"]
    assert "--ignore-errors" not in command
    assert offline_diff.synth_command(Path("c"), Path("o"), [], ignore_errors=True)[-1] == "--ignore-errors"


def test_child_env_has_no_aws_credentials_and_this_venv_first_on_path() -> None:
    environ = {
        "PATH": "/usr/bin",
        "HOME": "/home/me",
        "AWS_ACCESS_KEY_ID": "AKIAFAKE",
        "AWS_SECRET_ACCESS_KEY": "fake",
        "AWS_SESSION_TOKEN": "fake",
        "AWS_PROFILE": "prod-admin",
        "AWS_WEB_IDENTITY_TOKEN_FILE": "/tmp/token",
    }

    env = offline_diff.child_env(environ, Path("/repo/.venv/bin"))

    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"} & set(env)
    assert "AWS_WEB_IDENTITY_TOKEN_FILE" not in env
    assert env["AWS_EC2_METADATA_DISABLED"] == "true"
    assert env["AWS_CONFIG_FILE"] == env["AWS_SHARED_CREDENTIALS_FILE"]
    assert env["CDK_DISABLE_CLI_TELEMETRY"] == "true"
    assert env["PATH"].split(":")[0] == "/repo/.venv/bin"
    assert env["PATH"].endswith("/usr/bin")
    assert env["HOME"] == "/home/me"


# --- reading the CLI's output -----------------------------------------------------------------------------------------


def test_differences_reported_reads_the_cli_count_even_in_color() -> None:
    assert offline_diff.differences_reported("\n\x1b[1m✨  Number of stacks with differences: 2\x1b[22m\n") == 2
    assert offline_diff.differences_reported("✨  Number of stacks with differences: 0") == 0
    assert offline_diff.differences_reported("Error: boom") is None


def test_clean_diff_output_drops_the_count_line_and_blank_edges() -> None:
    output = "\nStack S\nResources\n[+] AWS::SNS::Topic Topic\n\n\n✨  Number of stacks with differences: 1\n\n"

    assert offline_diff.clean_diff_output(output) == "Stack S\nResources\n[+] AWS::SNS::Topic Topic"


def test_a_removed_stack_lists_its_resources_without_running_the_cli(tmp_path: Path) -> None:
    template = tmp_path / "Gone.template.json"
    template.write_text(json.dumps(TOPIC), encoding="utf-8")
    pair = StackPair("Gone", stack("Gone", template), None)

    result = offline_diff.diff_stack(pair, tmp_path, tmp_path / "empty.json", Path("/no/cdk"), {}, False)

    assert result.status == "removed"
    assert "[-] AWS::SNS::Topic Topic" in result.output
    assert "app-gone" in result.output
    assert result.resources == ("[-] AWS::SNS::Topic Topic",)


def test_resource_changes_name_added_removed_and_modified_resources() -> None:
    base = {
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30, "DelaySeconds": 0}},
            "Old": {"Type": "AWS::SNS::Topic"},
            "Role": {"Type": "AWS::IAM::Role", "Metadata": {"aws:cdk:path": "A/Role"}},
            "Bucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Delete"},
            "CDKMetadata": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2:deflate64:old"}},
        }
    }
    work = {
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 60, "FifoQueue": True}},
            "Role": {"Type": "AWS::IAM::Role", "Metadata": {"aws:cdk:path": "B/Role"}},  # metadata only: unchanged
            "New": {"Type": "AWS::SNS::Topic"},
            "CDKMetadata": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2:deflate64:new"}},
        }
    }

    assert offline_diff.resource_changes(base, work) == [
        "[~] AWS::S3::Bucket Bucket (DeletionPolicy)",
        "[~] AWS::SQS::Queue Queue (DelaySeconds, FifoQueue, VisibilityTimeout)",
        "[+] AWS::SNS::Topic New",
        "[-] AWS::SNS::Topic Old",
    ]
    assert offline_diff.resource_changes({}, {"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}) == [
        "[+] AWS::SNS::Topic T"
    ]


def test_identical_templates_are_unchanged_without_running_the_cli(tmp_path: Path) -> None:
    base, work = tmp_path / "b.json", tmp_path / "w.json"
    base.write_text(json.dumps(queue(30)), encoding="utf-8")
    work.write_text(json.dumps(queue(30), indent=2), encoding="utf-8")  # same JSON, other bytes
    pair = StackPair("S", stack("S", base), stack("S", work))

    result = offline_diff.diff_stack(pair, tmp_path, tmp_path / "empty.json", Path("/no/cdk"), {}, False)

    assert result == StackDiff("S", "unchanged", "Stack S (app-s)\nThere were no differences")


# --- markdown for the pull request ------------------------------------------------------------------------------------


def test_markdown_lists_resource_changes_then_the_full_diff_of_changed_stacks() -> None:
    report = Report(
        base_label="origin/main (abc)",
        stacks=[
            StackDiff("A", "changed", "Stack A\nfull output of A", ("[~] AWS::SQS::Queue Queue (VisibilityTimeout)",)),
            StackDiff("B", "unchanged", "Stack B\nThere were no differences"),
        ],
    )

    body = offline_diff.render_markdown(report, footer="footer")

    assert body.startswith(offline_diff.COMMENT_MARKER)
    assert "1 changed (A)" in body and "1 unchanged (B)" in body
    assert "**A** (changed):\n\n```\n[~] AWS::SQS::Queue Queue (VisibilityTimeout)\n```" in body
    assert "<details><summary>A: full cdk diff</summary>\n\n```\nStack A\nfull output of A\n```" in body
    assert "Stack B" not in body  # an unchanged stack is only named in the summary
    assert body.rstrip().endswith("footer")


def test_markdown_is_cut_to_the_comment_limit_and_says_so() -> None:
    huge = "\n".join(f"[+] AWS::SNS::Topic Topic{i} " + "x" * 80 for i in range(3000))
    resources = tuple(f"[+] AWS::SNS::Topic Topic{i}" for i in range(3000))
    report = Report(base_label="main", stacks=[StackDiff(n, "changed", huge, resources) for n in ("A", "B", "C")])

    body = offline_diff.render_markdown(report, limit=65_000, footer="footer")

    assert len(body) <= 65_000
    assert body.count("… and 2800 more") == 3  # every stack's resource list, each cut to its first lines
    assert "A: full cdk diff (cut)" in body
    assert "B: full cdk diff: left out" in body and "C: full cdk diff: left out" in body
    assert body.count("<details") == body.count("</details>")
    assert body.rstrip().endswith("footer")


def test_markdown_fence_is_longer_than_any_backtick_run_in_the_diff() -> None:
    report = Report(base_label="main", stacks=[StackDiff("A", "changed", "a ```` b")])

    assert "\n`````\na ```` b\n`````\n" in offline_diff.render_markdown(report)

    assert offline_diff._fence("no backticks") == "```"


def test_markdown_of_a_failure_shows_the_tool_output() -> None:
    report = Report(base_label="main", error="synth of the working tree failed (exit 1)", error_output="Boom\n")

    body = offline_diff.render_markdown(report)

    assert "**Failed:** synth of the working tree failed (exit 1)" in body
    assert "Boom" in body


# --- git -----------------------------------------------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    result = subprocess.run(["git", *identity, *args], cwd=repo, capture_output=True, text=True, check=True)  # noqa: S603, S607
    return result.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """main: one commit; feature (checked out): one more commit; main then gains another commit."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    (repo / "app.txt").write_text("v1\n", encoding="utf-8")
    (repo / "requirements.txt").write_text("aws-cdk-lib==2.1\n", encoding="utf-8")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "one")
    git(repo, "checkout", "--quiet", "-b", "feature")
    (repo / "app.txt").write_text("feature\n", encoding="utf-8")
    git(repo, "commit", "--quiet", "-am", "feature")
    git(repo, "checkout", "--quiet", "main")
    (repo / "app.txt").write_text("main moved on\n", encoding="utf-8")
    git(repo, "commit", "--quiet", "-am", "main two")
    git(repo, "checkout", "--quiet", "feature")
    return repo


def test_default_base_is_the_first_ref_that_exists(repo: Path) -> None:
    assert offline_diff.default_base_ref(repo) == "main"
    assert offline_diff.default_base_ref(repo, ("origin/main", "feature", "main")) == "feature"
    with pytest.raises(OfflineDiffError, match="--base"):
        offline_diff.default_base_ref(repo, ("origin/main", "nope"))


def test_resolve_base_uses_the_merge_base_like_a_pull_request(repo: Path) -> None:
    first = git(repo, "rev-list", "--max-parents=0", "HEAD")
    main_tip = git(repo, "rev-parse", "main")

    assert offline_diff.resolve_base("main", True, repo) == (first, f"main (merge-base {first[:12]})")
    assert offline_diff.resolve_base("main", False, repo) == (main_tip, f"main ({main_tip[:12]})")
    assert offline_diff.resolve_base("HEAD", True, repo)[0] == git(repo, "rev-parse", "HEAD")
    with pytest.raises(OfflineDiffError, match="fetch-depth"):
        offline_diff.resolve_base("origin/nope", True, repo)


def test_export_tree_writes_the_files_of_a_commit_and_leaves_the_repository_alone(repo: Path, tmp_path: Path) -> None:
    first = git(repo, "rev-list", "--max-parents=0", "HEAD")
    (repo / "app.txt").write_text("uncommitted\n", encoding="utf-8")

    offline_diff.export_tree(first, tmp_path / "base", repo)

    assert (tmp_path / "base" / "app.txt").read_text(encoding="utf-8") == "v1\n"
    assert git(repo, "worktree", "list").count("\n") == 0  # no worktree registered
    assert (repo / "app.txt").read_text(encoding="utf-8") == "uncommitted\n"
    with pytest.raises(OfflineDiffError, match="git archive"):
        offline_diff.export_tree("0" * 40, tmp_path / "nothing", repo)


def tar_stream(*members: tuple[tarfile.TarInfo, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    buffer.seek(0)
    return buffer


def member(name: str, kind: bytes = tarfile.REGTYPE, mode: int = 0o644, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.linkname = kind, mode, linkname
    return info


def test_extract_safely_writes_folders_files_and_in_tree_links(tmp_path: Path) -> None:
    archive = tar_stream(
        (member("pkg", tarfile.DIRTYPE, 0o755), b""),
        (member("pkg/app.py"), b"print(1)\n"),
        (member("pkg/run.sh", mode=0o755), b"#!/bin/sh\n"),
        (member("deep/er/file.txt"), b"x"),  # parents not listed first
        (member("pkg/alias.py", tarfile.SYMTYPE, linkname="app.py"), b""),
    )
    with tarfile.open(fileobj=archive, mode="r|") as stream:
        offline_diff.extract_safely(stream, tmp_path / "out")

    out = tmp_path / "out"
    assert (out / "pkg" / "app.py").read_text(encoding="utf-8") == "print(1)\n"
    assert os.access(out / "pkg" / "run.sh", os.X_OK)
    assert not os.access(out / "pkg" / "app.py", os.X_OK)
    assert (out / "deep" / "er" / "file.txt").read_bytes() == b"x"
    assert (out / "pkg" / "alias.py").is_symlink()
    assert (out / "pkg" / "alias.py").read_text(encoding="utf-8") == "print(1)\n"


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([member("/etc/evil")], "absolute or climbs"),
        ([member("pkg/../../evil")], "absolute or climbs"),
        ([member("up", tarfile.SYMTYPE, linkname="../..")], "links out of the tree"),
        ([member("abs", tarfile.SYMTYPE, linkname="/etc")], "links out of the tree"),
        ([member("hard", tarfile.LNKTYPE, linkname="/etc/passwd")], "not a folder, a file or a symbolic link"),
        ([member("fifo", tarfile.FIFOTYPE)], "not a folder, a file or a symbolic link"),
    ],
)
def test_extract_safely_refuses_members_that_escape_or_are_not_plain(
    tmp_path: Path, members: list[tarfile.TarInfo], message: str
) -> None:
    archive = tar_stream(*((info, b"data") for info in members))
    with tarfile.open(fileobj=archive, mode="r|") as stream, pytest.raises(OfflineDiffError, match=message):
        offline_diff.extract_safely(stream, tmp_path / "out")
    assert list(tmp_path.iterdir()) in ([], [tmp_path / "out"])
    assert not (tmp_path / "evil").exists()


def test_extract_safely_writes_nothing_through_a_link_already_in_the_destination(tmp_path: Path) -> None:
    # Members are checked against where their folder really is, not only against their name.
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "pre").symlink_to(outside)
    archive = tar_stream((member("pre/evil"), b"x"))
    with tarfile.open(fileobj=archive, mode="r|") as stream, pytest.raises(OfflineDiffError, match="outside"):
        offline_diff.extract_safely(stream, tmp_path / "out")
    assert list(outside.iterdir()) == []


def test_changed_dependency_files_are_named(tmp_path: Path) -> None:
    base, work = tmp_path / "base", tmp_path / "work"
    for tree, pin in ((base, "2.1"), (work, "2.2")):
        tree.mkdir()
        (tree / "requirements.txt").write_text(f"aws-cdk-lib=={pin}\n", encoding="utf-8")
        (tree / "package.json").write_text("{}\n", encoding="utf-8")
    (work / "package-lock.json").write_text("{}\n", encoding="utf-8")

    assert offline_diff.changed_dependency_files(base, work) == ["requirements.txt", "package-lock.json"]


def test_an_unknown_base_exits_2_with_the_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    markdown = tmp_path / "diff.md"

    status = offline_diff.main(["--base", "refs/heads/no-such-branch-here", "--markdown", str(markdown)])

    assert status == 2
    assert "error: 'refs/heads/no-such-branch-here' is not a commit here" in capsys.readouterr().out
    assert "**Failed:**" in markdown.read_text(encoding="utf-8")


def test_parse_args_refuses_context_without_a_value() -> None:
    with pytest.raises(SystemExit):
        offline_diff.parse_args(["-c", "stage"])
    assert offline_diff.parse_args(["-c", "stage=prod", "--fail-on-change"]).context == ["stage=prod"]


# --- the real CLI on two fake assemblies ------------------------------------------------------------------------------


def start_cdk_diff(scratch: Path) -> Future[list[StackDiff]]:
    """``diff_assemblies`` of two fake assemblies, in a thread: it waits on the CLI (node, seconds of one core), so it
    starts when this module is collected and the CLI runs on the other core while the tests here run."""
    base = write_assembly(scratch / "base", {"Changed": queue(30), "Same": TOPIC, "Gone": TOPIC})
    work = write_assembly(scratch / "work", {"Changed": queue(60), "Same": TOPIC, "Fresh": TOPIC})
    # Credentials in the caller's environment must not reach the CLI: nothing in AWS is looked at.
    environ = {"PATH": os.environ["PATH"], "HOME": str(scratch), "AWS_ACCESS_KEY_ID": "AKIAFAKE"}
    env = offline_diff.child_env({**environ, "AWS_SECRET_ACCESS_KEY": "fake"}, Path(sys.executable).parent)
    pool = ThreadPoolExecutor(max_workers=1)
    diffs = pool.submit(offline_diff.diff_assemblies, base, work, offline_diff.CDK_BIN, env, False, scratch)
    pool.shutdown(wait=False)  # the diff submitted still runs; nothing else will be
    return diffs


_CDK_DIFF_SCRATCH = tempfile.TemporaryDirectory()
_CDK_DIFF = start_cdk_diff(Path(_CDK_DIFF_SCRATCH.name)) if offline_diff.CDK_BIN.exists() else None


@pytest.mark.skipif(_CDK_DIFF is None, reason="node_modules is missing: run `make setup`")
def test_cdk_diff_of_two_assemblies_runs_offline_and_shows_each_kind_of_change() -> None:
    assert _CDK_DIFF is not None
    diffs = _CDK_DIFF.result(timeout=300)

    by_name = {diff.display_name: diff for diff in diffs}
    assert [diff.display_name for diff in diffs] == ["Changed", "Same", "Fresh", "Gone"]
    assert {name: diff.status for name, diff in by_name.items()} == {
        "Changed": "changed",
        "Same": "unchanged",
        "Fresh": "new",
        "Gone": "removed",
    }
    changed = by_name["Changed"].output
    assert changed.startswith("Stack Changed (app-changed)")
    assert "[~] AWS::SQS::Queue Queue" in changed
    assert "[-] 30" in changed and "[+] 60" in changed
    assert "[+] AWS::SNS::Topic Topic" in by_name["Fresh"].output
    assert by_name["Changed"].resources == ("[~] AWS::SQS::Queue Queue (VisibilityTimeout)",)
    assert by_name["Fresh"].resources == ("[+] AWS::SNS::Topic Topic",)
    assert "Number of stacks with differences" not in changed
