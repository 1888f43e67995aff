"""Synthesize each stage once per test run, in a worker process, and share the result.

Synthesis is the slow part of every CDK test (a jsii round trip per construct, about 1.5 CPU s per stage, plus
the jsii kernel's and the validation engine's start), so tests never build their own app for a whole stage: they
ask ``synth_stage`` and get the cached cloud assembly and its templates. The synth runs the real
``build_stacks`` with cdk-nag attached, so a finding fails it here too, and, for the stages cdk.json defines, with
aws-cdk-lib's built-in CloudFormation validation, whose findings the gates read from the validation report.

Every synth runs in one worker process with its own jsii kernel, so a run synthesizes on the second core while
this process runs other tests: a full run declares its apps at collection (``declare_variant`` in the modules,
the stages from cdk.json) and tests/conftest.py starts them all then (``prefetch``). Tests read what a user's
``cdk synth`` writes (the cloud assembly's files), never jsii objects, so nothing crosses the process boundary
but a folder's path.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

#: Every jsii kernel of the tests (this process's, the synth worker's, app.py's) runs node with WebAssembly compiled by
#: V8's baseline compiler only. aws-cdk-lib's built-in CloudFormation validation is a WebAssembly engine, and V8's
#: default tiering recompiles its hot functions with the optimizing compiler during every stage's validation: 1.3 CPU
#: s per stage, against 0.1 s without (measured on the default stage's second validated synth in one kernel), for
#: code that runs a second in a kernel that lives a minute. The findings are the same (tests/stacks/test_gates.py
#: reads them). Set before aws-cdk-lib is imported: the kernel starts with the import. A JSII_NODE of your own wins.
os.environ.setdefault("JSII_NODE", str(Path(__file__).with_name("node-liftoff-only")))

from aws_cdk import App
from aws_cdk.assertions import Template

from settings import Settings, load_settings
from tests.lint import lint_in_background

CDK_JSON_CONTEXT: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[1] / "cdk.json").read_text(encoding="utf-8")
)["context"]
STAGES = tuple(CDK_JSON_CONTEXT["stages"])


@dataclass(frozen=True)
class Synthesized:
    """One synthesized stage: its settings and its cloud assembly's folder. Templates, stack names and
    dependencies are read from the assembly's files (``manifest.json`` and the templates it names).
    """

    settings: Settings
    directory: Path

    def lint_findings(self) -> dict[str, Future[list[str]]]:
        """cfn-lint's findings per stack, linted in the lint worker; started once, on the first call or as soon as a
        prefetched stage is synthesized."""
        return _lint_assembly(self.directory)

    @functools.cached_property
    def manifest(self) -> dict[str, Any]:
        manifest: dict[str, Any] = json.loads((self.directory / "manifest.json").read_text(encoding="utf-8"))
        return manifest

    def _stack_artifact(self, stack_id: str) -> dict[str, Any]:
        artifact: dict[str, Any] = self.manifest["artifacts"][stack_id]
        assert artifact["type"] == "aws:cloudformation:stack", f"{stack_id} is not a stack"
        return artifact

    def template_json(self, stack_id: str) -> dict[str, Any]:
        template_file = self._stack_artifact(stack_id)["properties"]["templateFile"]
        template: dict[str, Any] = json.loads((self.directory / template_file).read_text(encoding="utf-8"))
        return template

    def template(self, stack_id: str) -> Template:
        return Template.from_json(self.template_json(stack_id))

    def stack_name(self, stack_id: str) -> str:
        return str(self._stack_artifact(stack_id)["properties"].get("stackName", stack_id))

    def stack_dependencies(self, stack_id: str) -> set[str]:
        """The other stacks ``stack_id`` is deployed after (asset manifests left out)."""
        return {
            dependency
            for dependency in self._stack_artifact(stack_id).get("dependencies", [])
            if self.manifest["artifacts"][dependency]["type"] == "aws:cloudformation:stack"
        }

    @property
    def stack_ids(self) -> list[str]:
        return list(_stack_template_files(self.manifest))


def _stack_template_files(manifest: dict[str, Any]) -> dict[str, str]:
    """Stack id -> its template's file in the cloud assembly (asset manifests and the tree left out)."""
    return {
        artifact_id: artifact["properties"]["templateFile"]
        for artifact_id, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }


Overrides = tuple[tuple[str, Any], ...]
#: Seconds a test waits for the synth worker (a whole prefetch takes under a minute): a hung worker fails the
#: tests that need it instead of hanging the run.
SYNTH_TIMEOUT = 600
R = TypeVar("R")
#: The apps the run's modules synthesize besides cdk.json's stages, in the order they were declared.
_DECLARED_VARIANTS: list[tuple[str, Overrides]] = []


def declare_variant(overrides: Overrides, stage: str = "default") -> Overrides:
    """Declare, at import, a stage with ``overrides`` that a module synthesizes, so a full run starts it early."""
    if (stage, overrides) not in _DECLARED_VARIANTS:
        _DECLARED_VARIANTS.append((stage, overrides))
    return overrides


#: A user's own baseline instead of the demo's (JSON Lines, no header, a shorter runtime, a bigger instance): one
#: extra synth shared by the baseline tests and the monitoring tests that compare it with the default stage.
USER_BASELINE_OVERRIDES: Overrides = declare_variant(
    (
        ("baseline_dataset_uri", "s3://my-bucket/data/baseline.jsonl"),
        ("baseline_dataset_format", "jsonl"),
        ("baseline_dataset_header", False),
        ("baseline_max_runtime_minutes", 20),
        ("baseline_instance_type", "ml.m5.2xlarge"),
    )
)


@functools.cache
def synth_stage(stage: str = "default", overrides: Overrides = ()) -> Synthesized:
    """The synthesized app of ``stage`` (from cdk.json), with ``overrides`` applied, built once per run."""
    settings = load_settings(stage=stage, stages=CDK_JSON_CONTEXT["stages"], overrides=dict(overrides))
    return Synthesized(settings=settings, directory=Path(_synthesis(stage, overrides).result(SYNTH_TIMEOUT)))


def declare_stages_variant(stage: str, stages: Mapping[str, Any]) -> Callable[[], Synthesized]:
    """``stage`` as ``stages`` (cdk.json's ``stages``, edited) defines it, declared at import like
    ``declare_in_synth_worker`` (a full run synthesizes it with the prefetch); returns the function that gives it."""
    settings = load_settings(stage=stage, stages=dict(stages))
    synthesis = declare_in_synth_worker(_synthesize_into_a_new_folder, stage, json.dumps(stages))
    return lambda: Synthesized(settings=settings, directory=Path(synthesis.result()))


def prefetch(*, stages_only: bool = False) -> None:
    """For a run with the lint gate: start every app the run's modules declared, most needed first (the default
    stage and prod, the first modules' inputs; the declared variants; the other stages), and lint each stage as
    soon as it is synthesized, so the gate only collects the findings; then the modules' own calls
    (``declare_in_synth_worker``), which their tests at the end of the run only read. ``stages_only``: cdk.json's
    stages, which are known before any module is imported (the variants are declared as the modules are
    collected)."""
    first = [(stage, ()) for stage in ("default", "prod") if stage in STAGES]
    rest = [(stage, ()) for stage in STAGES if (stage, ()) not in first]
    # A second call (session start, then collection) starts nothing twice: _synthesis is cached, and so is each
    # assembly's lint (_lint_assembly), which a second callback only looks up.
    for stage, overrides in [*first, *([] if stages_only else _DECLARED_VARIANTS), *rest]:
        synthesis = _synthesis(stage, overrides)
        if not overrides:  # a stage as cdk.json defines it: the lint gate's input
            synthesis.add_done_callback(_lint_when_synthesized)
    if not stages_only:
        for call in _DECLARED_CALLS:
            call.start()


def _lint_when_synthesized(synthesis: Future[str]) -> None:
    # A failed synth fails its tests through synth_stage; after stop(), the run reads no findings.
    if not _STOPPED.is_set() and not synthesis.cancelled() and synthesis.exception() is None:
        _lint_assembly(Path(synthesis.result()))


_STOPPED = threading.Event()


def stop() -> None:
    """At the end of the run: the synths not started are cancelled, and no finished one is linted any more."""
    _STOPPED.set()
    if _WORKER is not None:
        _WORKER.shutdown(wait=False, cancel_futures=True)


_LINTS: dict[Path, dict[str, Future[list[str]]]] = {}
_LINTS_LOCK = threading.Lock()  # the prefetch's callbacks run in the synth worker's management thread


def _lint_assembly(directory: Path) -> dict[str, Future[list[str]]]:
    """cfn-lint's findings on each stack template of the cloud assembly in ``directory``, in the lint worker."""
    with _LINTS_LOCK:
        if directory not in _LINTS:
            manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
            _LINTS[directory] = {
                stack_id: lint_in_background((directory / template_file).read_text(encoding="utf-8"))
                for stack_id, template_file in _stack_template_files(manifest).items()
            }
        return _LINTS[directory]


@functools.cache
def _synthesis(stage: str, overrides: Overrides) -> Future[str]:
    # The built-in CloudFormation validation is on for cdk.json's stages (app.py leaves it off for speed):
    # test_gates.py fails on any finding it reports. A variant is never gated, so it skips the validation's CPU.
    outdir = tempfile.mkdtemp(prefix=f"cdk-{stage}-")
    stages = json.dumps(CDK_JSON_CONTEXT["stages"])
    return _worker().submit(_synthesize, stage, stages, overrides, outdir, validation=not overrides)


_WORKER: ProcessPoolExecutor | None = None


def _worker() -> ProcessPoolExecutor:
    """One process, one jsii kernel, for every synth of the run. It comes from the fork server, as the lint worker
    does: no fork of a process running jsii's threads."""
    global _WORKER  # one worker per test run
    if _WORKER is None:
        _WORKER = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("forkserver"), initializer=_output_to_a_file
        )
    return _WORKER


def _output_to_a_file() -> None:
    """In the worker: its output (asset bundling's progress lines, jsii's warnings) goes to a file, as pytest's
    capture keeps a test's output off the terminal; a failed synth's error reaches its test as ``SynthError``."""
    log = tempfile.NamedTemporaryFile(prefix="synth-worker-", suffix=".log", delete=False)  # noqa: SIM115
    for stream in (1, 2):
        os.dup2(log.fileno(), stream)


class InSynthWorker(Generic[R]):
    """``function(*args)`` in the synth worker, where the jsii kernel and the validation engine already run.

    Declared when a module is imported (``declare_in_synth_worker``): a full run starts it with the prefetch, after
    the stages, so the module's test, at the end of the run, reads a result made while the test process ran other
    tests (a construct test's app built in the test process keeps this process and its kernel busy while the other
    core waits). A partial run starts it when a test first asks. ``function`` is a module's function; its
    arguments and result must pickle.
    """

    def __init__(self, function: Callable[..., R], args: tuple[Any, ...]) -> None:
        self._function = function
        self._args = args
        self._future: Future[R] | None = None

    def start(self) -> None:
        if self._future is None:
            self._future = _worker().submit(self._function, *self._args)

    def result(self) -> R:
        self.start()
        assert self._future is not None
        return self._future.result(SYNTH_TIMEOUT)


_DECLARED_CALLS: list[InSynthWorker[Any]] = []


def declare_in_synth_worker(function: Callable[..., R], *args: Any) -> InSynthWorker[R]:
    call = InSynthWorker(function, args)
    _DECLARED_CALLS.append(call)
    return call


class SynthError(RuntimeError):
    """A synth failed in the worker (cdk-nag, a construct's check, the settings); the message is its error's."""


def _synthesize(stage: str, stages: str, overrides: Overrides, outdir: str, *, validation: bool) -> str:
    """In the worker: build ``stage`` into a cloud assembly in ``outdir`` and return the folder."""
    from stacks import build_stacks

    try:
        settings = load_settings(stage=stage, stages=json.loads(stages), overrides=dict(overrides))
        app = App(outdir=outdir, context=feature_flags(), builtin_cloud_formation_validation=validation)
        build_stacks(app, settings)
        return str(app.synth().directory)
    except Exception as error:  # jsii's errors need not pickle: the message crosses as text
        raise SynthError(f"{stage} {dict(overrides)}: {type(error).__name__}: {error}") from None


def _synthesize_into_a_new_folder(stage: str, stages: str) -> str:
    """In the worker: ``stage`` of ``stages`` (JSON), without the built-in validation (the gates validate cdk.json's
    stages), into a new folder."""
    return _synthesize(stage, stages, (), tempfile.mkdtemp(prefix=f"cdk-{stage}-"), validation=False)


def start_app(context: Mapping[str, Any]) -> subprocess.Popen[str]:
    """``python app.py`` as ``npx cdk synth`` runs it, with ``context`` as the CLI passes it (``CDK_CONTEXT_JSON``),
    into a fresh folder. Started, not waited for: app.py imports aws-cdk-lib and starts its node process (seconds
    of one core), so a module starts it when it is collected, and its test collects the result."""
    return subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": tempfile.mkdtemp(prefix="cdk-app-")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def construct_app(**kwargs: Any) -> App:
    """An app for a construct's own test. aws-cdk-lib runs its built-in CloudFormation validation on every synth
    unless told not to (app.py turns it off as well): its engine's start alone is 5 CPU s of WASM compilation in
    this process's jsii kernel. A construct test reads templates, and the gates validate every stage in the
    synth worker, so these apps leave it off."""
    return App(builtin_cloud_formation_validation=False, **kwargs)


def feature_flags() -> dict[str, Any]:
    return {key: value for key, value in CDK_JSON_CONTEXT.items() if key.startswith("@aws-cdk")}


_ASSET_HASH = re.compile(r"[0-9a-f]{64}")


def mask_asset_hashes(value: Any) -> Any:
    """Replace every asset hash, so a snapshot changes only when the template does, not a Lambda's code."""
    if isinstance(value, dict):
        return {key: mask_asset_hashes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_asset_hashes(item) for item in value]
    if isinstance(value, str):
        return _ASSET_HASH.sub("<asset-hash>", value)
    return value
