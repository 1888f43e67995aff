#!/usr/bin/env python3
"""Offline ``cdk diff``: what a change does to every stack's template, with no AWS account.

Synthesizes a base git commit and the working tree into two cloud assemblies, then runs
``cdk diff --app <working assembly> --template <base template> <stack>`` for every stack: the CDK CLI compares
the two templates locally and never calls AWS.

    python scripts/offline_diff.py                        # merge-base with origin/main (or main) vs the working tree
    python scripts/offline_diff.py --base HEAD            # uncommitted changes only
    python scripts/offline_diff.py -c stage=prod          # context passed to both synths
    python scripts/offline_diff.py --fail-on-change       # exit 1 when any stack changed (for CI)
    python scripts/offline_diff.py --markdown diff.md     # also write a pull-request comment body

Exit status: 0 (the diff is informational), 1 with ``--fail-on-change`` when a stack changed, was added or was
removed, 2 when git, a synth or a diff failed.

Both sides are synthesized with the packages installed in this environment (the venv's ``python3`` and this
repository's ``node_modules``); the script warns when the dependency files differ between the two sides, as the
effect of a version bump does not show in the diff.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

REPO_ROOT = Path(__file__).resolve().parents[1]
CDK_BIN = REPO_ROOT / "node_modules" / ".bin" / "cdk"
DEFAULT_BASE_CANDIDATES = ("origin/main", "main", "origin/master", "master")
# Files whose change between the two sides is not shown by the diff: both sides use this environment's packages.
DEPENDENCY_FILES = ("requirements.txt", "requirements-dev.txt", "package.json", "package-lock.json")
# The environment variables through which an AWS SDK finds credentials or a profile. Removed from every child
# process so the result never depends on who runs it and the CDK CLI has nothing to call AWS with.
AWS_CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
)
COMMENT_MARKER = "<!-- cdk-diff:offline -->"
# GitHub refuses comment bodies over 65,536 characters; stay under it with room for the marker and a footer.
COMMENT_LIMIT = 65_000
DEFAULT_WIDTH = 160
MAX_RESOURCE_LINES = 200
SYNTH_TIMEOUT_S = 900
DIFF_TIMEOUT_S = 300
_DIFF_COUNT = re.compile(r"Number of stacks with differences:\s*(\d+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

Status = Literal["changed", "unchanged", "new", "removed"]


class OfflineDiffError(Exception):
    """A failure of git, a synth or a diff: one message for a person, the tool's output attached."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


@dataclass(frozen=True)
class StackTemplate:
    """One stack of a cloud assembly: how to select it and where its template is."""

    display_name: str  # the hierarchical id: what `cdk diff` selects and what the two sides are paired on
    stack_name: str  # the CloudFormation stack name
    template: Path


@dataclass(frozen=True)
class StackPair:
    display_name: str
    base: StackTemplate | None
    work: StackTemplate | None

    @property
    def kind(self) -> Literal["both", "new", "removed"]:
        if self.base is None:
            return "new"
        if self.work is None:
            return "removed"
        return "both"


@dataclass(frozen=True)
class StackDiff:
    display_name: str
    status: Status
    output: str  # what `cdk diff` printed
    resources: tuple[str, ...] = ()  # one line per added, removed or modified resource: see resource_changes


@dataclass
class Report:
    base_label: str
    stacks: list[StackDiff] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    error_output: str = ""

    @property
    def changed(self) -> bool:
        return any(stack.status != "unchanged" for stack in self.stacks)

    def summary(self) -> str:
        if self.error is not None:
            return f"error: {self.error}"
        counts = {status: [s.display_name for s in self.stacks if s.status == status] for status in _STATUS_ORDER}
        return "; ".join(
            f"{len(names)} {status}" + (f" ({', '.join(names)})" if names else "") for status, names in counts.items()
        )


_STATUS_ORDER: tuple[Status, ...] = ("changed", "new", "removed", "unchanged")


# --- cloud assembly ------------------------------------------------------------------------------------------------


def read_assembly(assembly_dir: Path) -> dict[str, StackTemplate]:
    """The stacks of the cloud assembly in ``assembly_dir``, by display name, in manifest order.

    Nested assemblies (CDK stages) are followed; their stacks keep their hierarchical ids ("Stage/Stack").
    """
    manifest_path = assembly_dir / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise OfflineDiffError(f"cannot read the cloud assembly manifest {manifest_path}: {error}") from error
    stacks: dict[str, StackTemplate] = {}
    for artifact_id, artifact in (manifest.get("artifacts") or {}).items():
        properties = artifact.get("properties") or {}
        if artifact.get("type") == "aws:cloudformation:stack":
            display_name = artifact.get("displayName") or artifact_id
            stacks[display_name] = StackTemplate(
                display_name=display_name,
                stack_name=properties.get("stackName") or artifact_id,
                template=assembly_dir / properties["templateFile"],
            )
        elif artifact.get("type") == "cdk:cloud-assembly":
            stacks.update(read_assembly(assembly_dir / properties["directoryName"]))
    return stacks


def pair_stacks(base: Mapping[str, StackTemplate], work: Mapping[str, StackTemplate]) -> list[StackPair]:
    """Every stack of either side, paired by display name: the working tree's order, then removed stacks."""
    pairs = [StackPair(name, base.get(name), stack) for name, stack in work.items()]
    pairs += [StackPair(name, stack, None) for name, stack in base.items() if name not in work]
    return pairs


def load_template(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8"))


# --- the CDK CLI ---------------------------------------------------------------------------------------------------


def child_env(environ: Mapping[str, str], python_bin_dir: Path) -> dict[str, str]:
    """The environment of every child process: this venv's python first on PATH, no AWS credentials, no IMDS."""
    env = {key: value for key, value in environ.items() if key not in AWS_CREDENTIAL_VARIABLES}
    env["PATH"] = os.pathsep.join([str(python_bin_dir), str(REPO_ROOT / "node_modules" / ".bin"), env.get("PATH", "")])
    env.update(
        {
            # Shared config and credentials files could hold credentials or a credential_process: point both away.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            # Without this an SDK on an EC2 host asks the instance metadata service for credentials.
            "AWS_EC2_METADATA_DISABLED": "true",
            "CDK_DISABLE_CLI_TELEMETRY": "true",
            "CDK_DISABLE_VERSION_CHECK": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def python_bin_dir() -> Path:
    """Where the ``python3`` of cdk.json's ``"app": "python3 app.py"`` must come from: the virtual environment this
    script runs in, else the repository's .venv (so a bare ``python3 scripts/offline_diff.py`` works too)."""
    if sys.prefix != sys.base_prefix or not (REPO_ROOT / ".venv" / "bin").is_dir():
        return Path(sys.executable).parent  # not resolved: a venv's python is a symlink out of the venv
    return REPO_ROOT / ".venv" / "bin"


def synth_command(cdk: Path, outdir: Path, context: Sequence[str], ignore_errors: bool = False) -> list[str]:
    command = [str(cdk), "synth", "--quiet", "--no-notices", "--output", str(outdir)]
    for item in context:
        command += ["--context", item]
    if ignore_errors:
        command.append("--ignore-errors")
    return command


def diff_command(cdk: Path, work_assembly: Path, base_template: Path, display_name: str, color: bool) -> list[str]:
    """``cdk diff`` of one stack of an already synthesized assembly against a template file: local, no AWS."""
    return [
        str(cdk),
        "diff",
        "--app",
        str(work_assembly),
        "--template",
        str(base_template),
        "--exclusively",
        # The assembly was synthesized (and its errors reported) already; do not refuse to read it again.
        "--ignore-errors",
        "--no-notices",
        "--color" if color else "--no-color",
        display_name,
    ]


# The child processes under way, each the leader of its own process group (node runs `python3 app.py` under it), so
# that Ctrl-C or a SIGTERM stops all of them before the temporary directory is removed.
_RUNNING: set[subprocess.Popen[str]] = set()
_RUNNING_LOCK = threading.Lock()


def run(command: Sequence[str], cwd: Path, env: Mapping[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``command`` with stdout and stderr together; an error for a person if it cannot start or times out."""
    try:
        process = subprocess.Popen(  # noqa: S603 - the commands are built here, not from untrusted input
            command,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,
        )
    except OSError as error:
        raise OfflineDiffError(f"cannot run {command[0]}: {error}") from error
    with _RUNNING_LOCK:
        _RUNNING.add(process)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as error:
        _signal_group(process, signal.SIGKILL)
        output, _ = process.communicate()
        raise OfflineDiffError(f"timed out after {timeout:.0f} s: {' '.join(command)}", output) from error
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(process)
    return subprocess.CompletedProcess(command, process.returncode, output)


def _signal_group(process: subprocess.Popen[str], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def _stop_children(signum: int, frame: object) -> None:
    with _RUNNING_LOCK:
        for process in _RUNNING:
            _signal_group(process, signal.SIGTERM)
    sys.exit(128 + signum)


def synth(
    tree: Path, outdir: Path, cdk: Path, context: Sequence[str], env: Mapping[str, str], ignore_errors: bool, label: str
) -> Path:
    """Synthesize the CDK app in ``tree`` (its own cdk.json) into ``outdir``."""
    result = run(synth_command(cdk, outdir, context, ignore_errors), cwd=tree, env=env, timeout=SYNTH_TIMEOUT_S)
    if result.returncode != 0 or not (outdir / "manifest.json").is_file():
        raise OfflineDiffError(f"synth of the {label} failed (exit {result.returncode})", result.stdout)
    return outdir


def clean_diff_output(output: str) -> str:
    """The CLI's output for one stack, without its closing count line and surrounding blank lines."""
    lines = [line.rstrip() for line in output.splitlines() if not _DIFF_COUNT.search(_ANSI.sub("", line))]
    return "\n".join(lines).strip("\n")


def differences_reported(output: str) -> int | None:
    """The CLI's own count of stacks with differences, if it printed one."""
    match = _DIFF_COUNT.search(_ANSI.sub("", output))
    return int(match.group(1)) if match else None


def _resources(template: object) -> dict[str, dict[str, object]]:
    resources = template.get("Resources") if isinstance(template, dict) else None
    if not isinstance(resources, dict):
        return {}
    # AWS::CDK::Metadata (CDK version analytics) changes with every library upgrade; cdk diff hides it too.
    return {
        name: value
        for name, value in resources.items()
        if isinstance(value, dict) and value.get("Type") != "AWS::CDK::Metadata"
    }


def _changed_keys(old: Mapping[str, object], new: Mapping[str, object]) -> list[str]:
    keys: list[str] = []
    for attribute in sorted((set(old) | set(new)) - {"Metadata"}):  # cdk diff leaves Metadata out too
        before, after = old.get(attribute), new.get(attribute)
        if attribute == "Properties" and isinstance(before, dict) and isinstance(after, dict):
            keys += [key for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]
        elif before != after:
            keys.append(attribute)
    return keys


def resource_changes(base: object, work: object) -> list[str]:
    """A compact account of two templates: ``[+]`` added, ``[-]`` removed, ``[~]`` modified resources (with the
    properties that changed), in the working template's order, then the removed ones."""
    old, new = _resources(base), _resources(work)
    lines: list[str] = []
    for name, resource in new.items():
        if name not in old:
            lines.append(f"[+] {resource.get('Type', '?')} {name}")
        elif keys := _changed_keys(old[name], resource):
            lines.append(f"[~] {resource.get('Type', '?')} {name} ({', '.join(keys)})")
    lines += [f"[-] {resource.get('Type', '?')} {name}" for name, resource in old.items() if name not in new]
    return lines


def diff_stack(
    pair: StackPair, work_assembly: Path, empty_template: Path, cdk: Path, env: Mapping[str, str], color: bool
) -> StackDiff:
    """The diff of one stack: the CLI's for a stack in the working tree, a resource list for a removed one."""
    base = load_template(pair.base.template) if pair.base is not None else {}
    if pair.work is None:
        assert pair.base is not None
        resources = resource_changes(base, {})
        removed = "Removed: in the base, not in the working tree. `cdk deploy` does not delete it; `cdk destroy` would."
        body = "\n".join([f"Stack {pair.display_name} ({pair.base.stack_name})", removed, *resources])
        return StackDiff(pair.display_name, "removed", body, tuple(resources))
    work = load_template(pair.work.template)
    if base == work:
        # Identical templates: the CLI would say the same, one node start-up (about 2 s) later.
        same = f"Stack {pair.display_name} ({pair.work.stack_name})\nThere were no differences"
        return StackDiff(pair.display_name, "unchanged", same)
    base_template = pair.base.template if pair.base is not None else empty_template
    command = diff_command(cdk, work_assembly, base_template, pair.display_name, color)
    # The working directory holds no cdk.json: the CLI reads only the arguments, never the repository's settings.
    result = run(command, cwd=empty_template.parent, env=env, timeout=DIFF_TIMEOUT_S)
    if result.returncode != 0:
        raise OfflineDiffError(f"cdk diff of {pair.display_name} failed (exit {result.returncode})", result.stdout)
    count = differences_reported(result.stdout)
    differs = count > 0 if count is not None else True
    status: Status = "new" if pair.base is None else ("changed" if differs else "unchanged")
    changes = resource_changes(base, work) if status != "unchanged" else []
    return StackDiff(pair.display_name, status, clean_diff_output(result.stdout), tuple(changes))


def diff_assemblies(
    base_assembly: Path, work_assembly: Path, cdk: Path, env: Mapping[str, str], color: bool, scratch: Path
) -> list[StackDiff]:
    """Diff every stack of two synthesized assemblies, a few at a time; results in pairing order."""
    pairs = pair_stacks(read_assembly(base_assembly), read_assembly(work_assembly))
    empty_template = scratch / "empty.template.json"
    empty_template.write_text("{}\n", encoding="utf-8")
    workers = max(1, min(len(pairs), os.cpu_count() or 1, 4))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(diff_stack, pair, work_assembly, empty_template, cdk, env, color) for pair in pairs]
        return [future.result() for future in futures]


# --- git -------------------------------------------------------------------------------------------------------------


def git(args: Sequence[str], cwd: Path = REPO_ROOT) -> str:
    result = subprocess.run(  # noqa: S603
        ["git", *args],  # noqa: S607 - git from PATH, as a developer runs it
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        check=False,
    )
    if result.returncode != 0:
        raise OfflineDiffError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def commit_of(ref: str, cwd: Path = REPO_ROOT) -> str | None:
    try:
        return git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd)
    except OfflineDiffError:
        return None


def default_base_ref(cwd: Path = REPO_ROOT, candidates: Iterable[str] = DEFAULT_BASE_CANDIDATES) -> str:
    for ref in candidates:
        if commit_of(ref, cwd) is not None:
            return ref
    raise OfflineDiffError(f"none of {', '.join(candidates)} exists; name the base with --base REF")


def resolve_base(ref: str, use_merge_base: bool, cwd: Path = REPO_ROOT) -> tuple[str, str]:
    """The commit to compare with and a label for it. By default the merge-base of ``ref`` and HEAD, as a pull
    request shows it: what this branch changes, not what the base branch gained since."""
    commit = commit_of(ref, cwd)
    if commit is None:
        raise OfflineDiffError(f"{ref!r} is not a commit here (in CI, check out with fetch-depth: 0)")
    if use_merge_base and commit_of("HEAD", cwd) is not None:
        try:
            merge_base = git(["merge-base", commit, "HEAD"], cwd)
        except OfflineDiffError:
            print(f"warning: no merge-base of {ref} and HEAD (a shallow clone?); using {ref} itself", file=sys.stderr)
        else:
            if merge_base != commit:
                return merge_base, f"{ref} (merge-base {merge_base[:12]})"
    return commit, f"{ref} ({commit[:12]})"


def export_tree(commit: str, destination: Path, cwd: Path = REPO_ROOT) -> None:
    """Write the files of ``commit`` into ``destination`` with ``git archive``: read-only for the repository (no
    worktree to register or prune, nothing to lock while others work in it)."""
    destination.mkdir(parents=True, exist_ok=True)
    with subprocess.Popen(  # noqa: S603
        ["git", "archive", "--format=tar", commit],  # noqa: S607
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None
        try:
            with tarfile.open(fileobj=process.stdout, mode="r|") as archive:
                extract_safely(archive, destination)
        except (tarfile.TarError, OfflineDiffError) as error:
            tar_error: Exception | None = error
        else:
            tar_error = None
        stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.returncode != 0 or tar_error is not None:
        raise OfflineDiffError(f"git archive {commit} failed: {stderr.strip() or tar_error}")


def extract_safely(archive: tarfile.TarFile, destination: Path) -> None:
    """Write the folders, regular files and in-tree symbolic links of ``archive`` under ``destination``.

    ``TarFile.extractall(filter="data")`` does this check, but only from Python 3.11.4 on (Debian 12's python3 is
    3.11.2), and without a filter older Pythons write wherever a member's name points. So every member is checked
    here, then written by hand: no absolute name, no ``..``, nothing written through a link out of the tree, no
    link that points out of it, and no hard link, device or FIFO (git archive makes none). Works on a stream
    (mode ``"r|"``): each member is handled when it is read.
    """
    root = Path(os.path.realpath(destination))
    root.mkdir(parents=True, exist_ok=True)
    for member in archive:
        target = root / _safe_member_name(member.name)
        # A link written earlier could redirect a later member's folder: check where the parent really is.
        parent = Path(os.path.realpath(target.parent))
        if not parent.is_relative_to(root):
            raise OfflineDiffError(f"archive member {member.name!r} would be written outside {destination}")
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
        elif member.isreg():
            source = archive.extractfile(member)
            assert source is not None  # a regular file always has data
            target.parent.mkdir(parents=True, exist_ok=True)
            with source, target.open("wb") as written:
                shutil.copyfileobj(source, written)
            target.chmod(0o755 if member.mode & 0o111 else 0o644)
        elif member.issym():
            link = Path(member.linkname)
            if link.is_absolute() or not Path(os.path.realpath(parent / link)).is_relative_to(root):
                raise OfflineDiffError(f"archive member {member.name!r} links out of the tree to {member.linkname!r}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(link)
        else:
            raise OfflineDiffError(f"archive member {member.name!r} is not a folder, a file or a symbolic link")


def _safe_member_name(name: str) -> Path:
    relative = Path(name)
    if not name or relative.is_absolute() or ".." in relative.parts:
        raise OfflineDiffError(f"archive member {name!r} is absolute or climbs out of the tree")
    return relative


def changed_dependency_files(base_tree: Path, work_tree: Path, names: Iterable[str] = DEPENDENCY_FILES) -> list[str]:
    def content(path: Path) -> bytes | None:
        return path.read_bytes() if path.is_file() else None

    return [name for name in names if content(base_tree / name) != content(work_tree / name)]


# --- output ----------------------------------------------------------------------------------------------------------


def render_text(report: Report) -> str:
    sections = [f"Offline cdk diff: {report.base_label} -> working tree"]
    sections += [f"note: {note}" for note in report.notes]
    sections += [stack.output for stack in report.stacks]
    if report.error is not None:
        sections += [f"error: {report.error}", report.error_output.strip()]
    sections.append(f"Summary: {report.summary()}")
    return "\n\n".join(section for section in sections if section) + "\n"


def _fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _block(title: str, text: str) -> str:
    fence = _fence(text)
    return f"<details><summary>{title}</summary>\n\n{fence}\n{text}\n{fence}\n\n</details>\n"


def render_markdown(report: Report, limit: int = COMMENT_LIMIT, footer: str = "") -> str:
    """A pull-request comment body of at most ``limit`` characters.

    A summary line; per stack that changed, the short list of resource changes; then the full ``cdk diff`` of each,
    collapsed. The lists come first because they are short and the full output of a big change is not: what does
    not fit is cut, then left out, saying so.
    """
    lines = [COMMENT_MARKER, f"### Offline `cdk diff`: `{report.base_label}` → this change", ""]
    if report.error is not None:
        lines += [f"**Failed:** {report.error}", ""]
    else:
        lines += [f"**Stacks:** {report.summary()}", ""]
    lines += [f"> {note}" for note in report.notes]
    text = "\n".join(lines).rstrip() + "\n\n"
    tail = f"\n{footer}\n" if footer else ""
    changed = [stack for stack in report.stacks if stack.status != "unchanged"]
    for stack in changed:
        shown = stack.resources[:MAX_RESOURCE_LINES]
        more = len(stack.resources) - len(shown)
        listing = "\n".join([*shown, *([f"… and {more} more"] if more else [])]) or "(no resource changed)"
        fence = _fence(listing)
        text += f"**{stack.display_name}** ({stack.status}):\n\n{fence}\n{listing}\n{fence}\n\n"
    blocks = [(f"{stack.display_name}: full cdk diff", _ANSI.sub("", stack.output)) for stack in changed]
    if report.error is not None:
        blocks.append(("output", _ANSI.sub("", report.error_output.strip()) or "(none)"))
    for index, (title, body) in enumerate(blocks):
        # Room kept for one "left out" line per following block.
        reserve = len(tail) + (len(blocks) - index - 1) * 120
        block = _block(title, body)
        if len(text) + len(block) + reserve <= limit:
            text += block
            continue
        cut_note = "\n… cut here: the comment size limit; the full diff is in the job log."
        room = limit - len(text) - reserve - len(_block(title, cut_note))
        if room > 200:
            text += _block(f"{title} (cut)", body[:room].rstrip() + cut_note)
        else:
            text += f"- {title}: left out, the comment size limit was reached; the full diff is in the job log.\n"
    return (text + tail)[:limit]


# --- main ------------------------------------------------------------------------------------------------------------


def offline_diff(
    base_ref: str,
    use_merge_base: bool,
    context: Sequence[str],
    color: bool,
    ignore_errors: bool,
    keep: bool,
    width: int,
    log: bool = True,
) -> Report:
    if not CDK_BIN.exists():
        raise OfflineDiffError(f"{CDK_BIN} is missing: run `make setup` (npm ci) first")
    commit, label = resolve_base(base_ref, use_merge_base)
    report = Report(base_label=label)
    env = child_env(os.environ, python_bin_dir())
    # The CLI fits its tables to COLUMNS when its output is not a terminal; without it one long ARN makes every
    # row of an IAM table hundreds of characters wide.
    env["COLUMNS"] = str(width)
    scratch = Path(tempfile.mkdtemp(prefix="cdk-offline-diff-"))
    started = time.monotonic()

    def note(message: str) -> None:
        if log:
            print(f"[{time.monotonic() - started:5.1f}s] {message}", file=sys.stderr, flush=True)

    try:
        base_tree = scratch / "base"
        export_tree(commit, base_tree)
        note(f"exported {label} to {base_tree}")
        changed_deps = changed_dependency_files(base_tree, REPO_ROOT)
        if changed_deps:
            report.notes.append(
                f"{', '.join(changed_deps)} {'differs' if len(changed_deps) == 1 else 'differ'} from the base; "
                "both sides were synthesized with this environment's packages, so the effect of that change is not "
                "in this diff."
            )
        # Both synths at once: each is mostly one single-threaded node and one python process.
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            base_future = pool.submit(
                synth, base_tree, scratch / "cdk.out.base", CDK_BIN, context, env, ignore_errors, f"base {label}"
            )
            work_future = pool.submit(
                synth, REPO_ROOT, scratch / "cdk.out.work", CDK_BIN, context, env, ignore_errors, "working tree"
            )
            base_assembly, work_assembly = base_future.result(), work_future.result()
        note("synthesized both sides")
        report.stacks = diff_assemblies(base_assembly, work_assembly, CDK_BIN, env, color, scratch)
        note(f"diffed {len(report.stacks)} stacks")
    except OfflineDiffError as error:
        report.error, report.error_output = str(error), error.output
    finally:
        if keep:
            print(f"kept {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return report


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Synthesize a base commit and the working tree and `cdk diff` every stack, with no AWS account."
    )
    parser.add_argument("--base", metavar="REF", help="the commit to compare with (default: origin/main, else main)")
    parser.add_argument(
        "--no-merge-base",
        dest="merge_base",
        action="store_false",
        help="compare with REF itself, not with the merge-base of REF and HEAD",
    )
    parser.add_argument(
        "-c",
        "--context",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="CDK context for both synths, e.g. -c stage=prod (repeatable)",
    )
    parser.add_argument("--fail-on-change", action="store_true", help="exit 1 when any stack changed")
    parser.add_argument("--markdown", metavar="PATH", type=Path, help="also write a pull-request comment body here")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto", help="colored diff output")
    parser.add_argument(
        "--width", type=int, help="table width of the diff (default: the terminal's, else 160)", metavar="COLUMNS"
    )
    parser.add_argument("--ignore-errors", action="store_true", help="diff even if a synth reports errors (cdk-nag)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory with both assemblies")
    args = parser.parse_args(argv)
    for item in args.context:
        if "=" not in item:
            parser.error(f"context {item!r} is not KEY=VALUE")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    width = args.width or (shutil.get_terminal_size().columns if sys.stdout.isatty() else DEFAULT_WIDTH)
    started = time.monotonic()
    # Ctrl-C, or a cancelled CI job's SIGTERM: stop the children, leave through the `finally` that cleans up.
    previous_handlers = {signum: signal.signal(signum, _stop_children) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        base_ref = args.base or default_base_ref()
        report = offline_diff(base_ref, args.merge_base, args.context, color, args.ignore_errors, args.keep, width)
    except OfflineDiffError as error:
        report = Report(base_label=args.base or "?", error=str(error), error_output=error.output)
    finally:
        for signum, handler in previous_handlers.items():
            signal.signal(signum, handler)
    elapsed = time.monotonic() - started
    sys.stdout.write(render_text(report))
    if args.markdown is not None:
        footer = f"<sub>`python scripts/offline_diff.py` in {elapsed:.0f} s; no AWS account involved.</sub>"
        args.markdown.write_text(render_markdown(report, footer=footer), encoding="utf-8")
    print(f"offline diff took {elapsed:.1f} s", file=sys.stderr)
    if report.error is not None:
        return 2
    return 1 if args.fail_on_change and report.changed else 0


if __name__ == "__main__":
    sys.exit(main())
