"""Load a whole mapping directory and check it as one: every problem of every file at once.

``load_mappings(dir)`` reads ``shared.yaml`` and the four system files (and
``policy.yaml`` through :func:`core.policy.load_policy` once that module
exists), validates each against its schema, runs the cross-checks that need
more than one key or file, and raises a single :class:`~core.errors.ConfigError`
listing everything it found. Nothing is half-loaded: either every file is
valid or nothing is returned.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ConfigError, ConfigProblem
from core.mapping import (
    MAPPING_MODELS,
    JiraMapping,
    SalesforceMapping,
    ServiceNowMapping,
    SystemMapping,
    ZendeskMapping,
)
from core.mapping_checks import CHECKS, check_policy, check_shared
from core.mapping_parts import FieldDecision, SharedDefinitions, TagsDecision
from core.model import System
from core.yamlconf import LocatedYaml, read_yaml, validate

POLICY_FILE = "policy.yaml"


@dataclass(frozen=True)
class Mappings:
    """Every admin file of a mapping directory, validated and cross-checked."""

    shared: SharedDefinitions
    zendesk: ZendeskMapping
    servicenow: ServiceNowMapping
    jira: JiraMapping
    salesforce: SalesforceMapping
    policy: Any | None  # core.policy.Policy, None while core.policy does not exist yet
    files: tuple[str, ...]  # display names of the files loaded, in order

    def for_system(self, system: System | str) -> SystemMapping:
        """The mapping a helpdesk's normalizer and connector use."""
        return getattr(self, System(system).value)


def load_mappings(
    mapping_dir: Path | str, *, display_root: str | None = None, with_policy: bool = True
) -> Mappings:
    """Load and check ``mapping_dir``; raise one ConfigError with the problems of all files.

    ``display_root`` is how file names appear in messages (default: the directory as given),
    e.g. ``mapping`` gives ``mapping/zendesk.yaml:14: ...``. ``with_policy=False`` skips
    policy.yaml, for code that only needs the field mappings (normalizers, connectors).
    """
    root = Path(mapping_dir)
    shown = (display_root if display_root is not None else str(mapping_dir)).rstrip("/")
    problems: list[ConfigProblem] = []
    if not root.is_dir():
        raise ConfigError([ConfigProblem(shown, None, "", "mapping directory not found")])

    docs: dict[str, LocatedYaml] = {}
    models: dict[str, Any] = {}
    for name, model in MAPPING_MODELS.items():
        display = f"{shown}/{name}.yaml"
        path = root / f"{name}.yaml"
        if not path.is_file():
            problems.append(ConfigProblem(display, None, "", f"file is missing: every mapping directory needs "
                                          f"{', '.join(f'{n}.yaml' for n in MAPPING_MODELS)}"))
            continue
        try:
            docs[name] = read_yaml(path, display)
            models[name] = validate(docs[name], model)
        except ConfigError as exc:
            problems.extend(exc.problems)

    shared = models.get("shared")
    if shared is not None:
        problems += check_shared(docs["shared"], shared)
        for name, check in CHECKS.items():
            if name in models:
                problems += check(docs[name], models[name], shared)

    policy, policy_problems = _load_policy(root, shown) if with_policy else (None, [])
    problems += policy_problems
    if policy is not None and shared is not None:
        policy_doc = read_yaml(root / POLICY_FILE, f"{shown}/{POLICY_FILE}")
        problems += check_policy(docs["shared"], shared, policy_doc, policy)
    if problems:
        raise ConfigError(_in_reading_order(problems))

    resolved = {name: _resolve_shared(models[name], shared) for name in CHECKS}
    files = tuple(d.file for d in docs.values()) + ((f"{shown}/{POLICY_FILE}",) if policy is not None else ())
    return Mappings(shared=shared, policy=policy, files=files, **resolved)


def _resolve_shared(mapping: Any, shared: SharedDefinitions) -> Any:
    """Fill in what a system file takes from shared.yaml by name (the supervisor tags)."""
    decision = getattr(mapping, "supervisor_decision", None)
    if isinstance(decision, TagsDecision):
        filled = decision.model_copy(update={
            "approve": decision.approve or shared.supervisor_tags.approve,
            "reject": decision.reject or shared.supervisor_tags.reject,
        })
        return mapping.model_copy(update={"supervisor_decision": filled})
    if isinstance(decision, FieldDecision):
        filled = decision.model_copy(update={
            "approve_tag": decision.approve_tag or shared.supervisor_tags.approve,
            "reject_tag": decision.reject_tag or shared.supervisor_tags.reject,
        })
        return mapping.model_copy(update={"supervisor_decision": filled})
    return mapping


def policy_module() -> Any | None:
    """core.policy if it exists yet (the policy loader is another module's job)."""
    try:
        return importlib.import_module("core.policy")
    except ModuleNotFoundError as exc:
        if exc.name == "core.policy":
            return None
        raise


def _load_policy(root: Path, shown: str) -> tuple[Any | None, list[ConfigProblem]]:
    """policy.yaml is validated by core.policy.load_policy(path, display_name) -> Policy.

    Its problems join the others. Without core.policy (an install that predates it)
    the policy is not checked and ``Mappings.policy`` is None.
    """
    module = policy_module()
    if module is None or not hasattr(module, "load_policy"):
        return None, []
    path = root / POLICY_FILE
    display = f"{shown}/{POLICY_FILE}"
    if not path.is_file():
        return None, [ConfigProblem(display, None, "", "file is missing: the escalation policy lives here")]
    try:
        return module.load_policy(path, display), []
    except ConfigError as exc:
        return None, list(exc.problems)


def _in_reading_order(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    """Files in the order they were loaded, each file's problems top to bottom."""
    order = {name: index for index, name in enumerate(dict.fromkeys(p.file for p in problems))}
    return sorted(problems, key=lambda p: (order[p.file], p.line or 0))
