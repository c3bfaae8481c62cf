"""Champion/challenger store for one dataset's models and results folders.

Layout under ``outputs/<dataset>/`` (the *root*):

- the live results folder: ``summary.json``, ``report.html`` ... directly in the root. These are
  always a copy of the current champion's results; only a promotion or a rollback replaces them.
- ``models/<version>/``: every trained model's checkpoint, promoted or not.
- ``champions/<version>/``: the results folder of every model that was ever promoted, so a
  rollback can reinstall it byte for byte.
- ``challengers/<version>/``: results of models that were not promoted, with the reason in
  ``registry.json``.
- ``registry.json``: which version is champion, the promotion history and every version's record.

Results are written into ``.staging/<version>/`` first and moved in one ``rename``; a promotion
then swaps the live files one ``os.replace`` at a time under a lock, after leaving an
``.installing`` marker naming the version: if the process dies half-way, the next use of the
registry finishes the install, so the live folder is never left as a mix of two versions.
Plain Python (no Dagster): the CLI's ``rollback`` and the tests use it directly.
"""

import fcntl
import json
import logging
import math
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

REGISTRY_FILE = "registry.json"
LOCK_FILE = ".registry.lock"
INSTALL_MARKER = ".installing"
#: names in the root that belong to the store, never to a results folder
RESERVED = {"models", "champions", "challengers", ".staging", REGISTRY_FILE, LOCK_FILE, INSTALL_MARKER}


class RegistryError(RuntimeError):
    """The store cannot do what was asked (no earlier champion, unknown version, bad files)."""


@dataclass(frozen=True)
class PromotionDecision:
    """Whether a candidate replaces the champion, and a sentence saying why."""

    promoted: bool
    reason: str
    version: str
    previous_champion: str | None = None
    month: str | None = None
    candidate_rmse: float | None = None
    champion_rmse: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``champion`` block of summary.json (plus the comparison behind the decision)."""
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


@dataclass
class VersionRecord:
    """What the registry remembers about one trained model."""

    version: str
    created_at: str
    status: str  # champion | challenger | retired | rolled_back
    gate_passed: bool
    reason: str
    results_dir: str  # relative to the root
    model_dir: str  # relative to the root
    fold_rmse: dict[str, float] = field(default_factory=dict)  # walk-forward test month -> RMSE
    training_end: str | None = None  # last period the final model was trained on
    extra: dict[str, Any] = field(default_factory=dict)


def decide_promotion(
    version: str,
    *,
    gate_passed: bool,
    gate_message: str,
    champion: str | None,
    month: str | None,
    candidate_rmse: float | None,
    champion_rmse: float | None,
    margin: float,
    champion_unscored_reason: str = "",
) -> PromotionDecision:
    """The promotion rule.

    A candidate is promoted only if it passed the deployment gate and its error on the latest
    out-of-sample month is not worse than the champion's on that same month by more than
    ``margin`` (relative RMSE). Comparing on one shared month keeps the comparison fair when the
    champion was trained on less data; when the champion cannot be scored there (its features no
    longer match the data), the gate alone decides and the reason says so.
    """
    base = {"version": version, "previous_champion": champion, "month": month,
            "candidate_rmse": _finite(candidate_rmse), "champion_rmse": _finite(champion_rmse)}
    if not gate_passed:
        return PromotionDecision(False, f"not promoted: {gate_message}", **base)
    if champion is None:
        return PromotionDecision(True, "promoted: first model to pass the deployment gate", **base)
    cand, champ = _finite(candidate_rmse), _finite(champion_rmse)
    if cand is None:
        return PromotionDecision(
            False, f"not promoted: no out-of-sample error for the latest month ({month}); champion {champion} stays",
            **base)
    if champ is None:
        why = champion_unscored_reason or "no error recorded for that month"
        return PromotionDecision(
            True, f"promoted on the gate alone: champion {champion} could not be scored on {month} ({why})", **base)
    relative = cand / champ - 1.0 if champ > 0 else (0.0 if cand == 0 else math.inf)
    if relative > margin:
        return PromotionDecision(
            False,
            f"not promoted: RMSE on {month} is {cand:.4g}, {relative:.1%} worse than champion {champion} "
            f"({champ:.4g}); the allowed margin is {margin:.1%}",
            **base,
        )
    return PromotionDecision(
        True,
        f"promoted: RMSE on {month} is {cand:.4g} vs champion {champion}'s {champ:.4g} "
        f"({relative:+.1%}, margin {margin:.1%})",
        **base,
    )


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def new_version(run_id: str = "", now: datetime | None = None) -> str:
    """Sortable, unique version name: UTC time plus the first characters of the run id."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    suffix = (run_id.replace("-", "") or uuid.uuid4().hex)[:8]
    return f"v{stamp}-{suffix}"


class ModelRegistry:
    """Versioned models and results folders of one dataset, with promotion and rollback."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._finish_interrupted_install()

    # -- paths ---------------------------------------------------------------------------

    @property
    def registry_file(self) -> Path:
        return self.root / REGISTRY_FILE

    def model_dir(self, version: str) -> Path:
        """Where ``version``'s checkpoint lives (created on first use)."""
        path = self.root / "models" / _checked(version)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def staging_dir(self, version: str) -> Path:
        """An empty folder to write ``version``'s results into before :meth:`publish`."""
        path = self.root / ".staging" / _checked(version)
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        return path

    def champion_dir(self, version: str) -> Path:
        return self.root / "champions" / _checked(version)

    def challenger_dir(self, version: str) -> Path:
        return self.root / "challengers" / _checked(version)

    # -- state ---------------------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        if not self.registry_file.exists():
            return {"champion": None, "promotions": [], "versions": {}}
        try:
            return json.loads(self.registry_file.read_text())
        except json.JSONDecodeError as exc:
            raise RegistryError(f"{self.registry_file} is not valid JSON ({exc}); restore it from a backup "
                                "or delete it to start a new history") from exc

    def _write(self, state: dict[str, Any]) -> None:
        _atomic_write_text(self.registry_file, json.dumps(state, indent=2, sort_keys=True))

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time: concurrent runs of one dataset queue here."""
        with (self.root / LOCK_FILE).open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @property
    def champion_version(self) -> str | None:
        return self._read()["champion"]

    def champion(self) -> VersionRecord | None:
        version = self.champion_version
        return self.record(version) if version else None

    def record(self, version: str) -> VersionRecord:
        raw = self._read()["versions"].get(version)
        if raw is None:
            raise RegistryError(f"no version '{version}' in {self.registry_file}")
        return VersionRecord(**raw)

    def versions(self) -> list[VersionRecord]:
        return [VersionRecord(**v) for _, v in sorted(self._read()["versions"].items())]

    def promotions(self) -> list[str]:
        """Promoted versions, oldest first; the last one is the champion."""
        return list(self._read()["promotions"])

    # -- publishing ----------------------------------------------------------------------

    def publish(
        self,
        staged: Path,
        decision: PromotionDecision,
        *,
        gate_passed: bool,
        fold_rmse: Mapping[str, float] | None = None,
        training_end: str | None = None,
        model_version: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Path:
        """File ``staged`` results under the decision and return where they now live.

        Promoted: archived in ``champions/<version>/`` and installed as the live folder.
        Not promoted: moved to ``challengers/<version>/``; the live folder is not touched.
        ``model_version`` names the checkpoint in ``models/`` (default: the same version); a
        model re-evaluated later gets a new results version that points at the same checkpoint.
        """
        staged = Path(staged)
        if not (staged / "summary.json").is_file():
            raise RegistryError(f"{staged} has no summary.json: refusing to publish an incomplete results folder")
        version = decision.version
        if version in self._read()["versions"]:
            raise RegistryError(f"version {version} is already in {self.registry_file}; each publication needs a new one")
        target = self.champion_dir(version) if decision.promoted else self.challenger_dir(version)
        with self._locked():
            state = self._read()
            if decision.promoted and state["champion"] != decision.previous_champion:
                raise RegistryError(
                    f"champion changed from {decision.previous_champion} to {state['champion']} while {version} "
                    "was being evaluated; re-run to compare against the new champion")
            _replace_dir(staged, target)
            record = VersionRecord(
                version=version,
                created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                status="champion" if decision.promoted else "challenger",
                gate_passed=bool(gate_passed),
                reason=decision.reason,
                results_dir=str(target.relative_to(self.root)),
                model_dir=str((self.root / "models" / _checked(model_version or version)).relative_to(self.root)),
                fold_rmse={k: float(v) for k, v in (fold_rmse or {}).items() if _finite(v) is not None},
                training_end=training_end,
                extra=dict(extra or {}),
            )
            if decision.promoted:
                if state["champion"]:
                    state["versions"][state["champion"]]["status"] = "retired"
                state["champion"] = version
                state["promotions"].append(version)
            state["versions"][version] = asdict(record)
            if decision.promoted:
                self._install(target, state)
            else:
                self._write(state)
        log.info("%s %s -> %s", version, "promoted" if decision.promoted else "kept as challenger", target)
        return self.root if decision.promoted else target

    def rollback(self) -> VersionRecord:
        """Reinstall the champion before the current one; the current one is marked rolled back."""
        with self._locked():
            state = self._read()
            promotions = state["promotions"]
            if len(promotions) < 2:
                have = promotions[-1] if promotions else "none"
                raise RegistryError(f"{self.root}: nothing to roll back to (promoted versions: {have})")
            current, previous = promotions[-1], promotions[-2]
            source = self.champion_dir(previous)
            if not (source / "summary.json").is_file():
                raise RegistryError(f"the results of {previous} are missing from {source}; cannot roll back")
            state["promotions"] = promotions[:-1]
            state["champion"] = previous
            state["versions"][current]["status"] = "rolled_back"
            state["versions"][previous]["status"] = "champion"
            self._install(source, state)
        log.info("rolled back from %s to %s", current, previous)
        return self.record(previous)

    # -- installing the live folder -------------------------------------------------------

    def _install(self, source: Path, state: dict[str, Any]) -> None:
        """Make the root's results a copy of ``source``, then commit ``state``."""
        marker = self.root / INSTALL_MARKER
        _atomic_write_text(marker, json.dumps({"source": str(source.relative_to(self.root)), "state": state}))
        self._copy_live(source)
        self._write(state)
        marker.unlink()

    def _copy_live(self, source: Path) -> None:
        wanted = {p.name for p in source.iterdir()}
        for stale in self.live_entries():
            if stale.name not in wanted:
                _remove(stale)
        for entry in source.iterdir():
            tmp = self.root / f".{entry.name}.tmp-{uuid.uuid4().hex[:6]}"
            if entry.is_dir():
                shutil.copytree(entry, tmp)
                _replace_dir(tmp, self.root / entry.name)
            else:
                shutil.copy2(entry, tmp)
                os.replace(tmp, self.root / entry.name)

    def live_entries(self) -> list[Path]:
        """The files and folders of the live results folder (everything not owned by the store)."""
        return sorted(p for p in self.root.iterdir() if p.name not in RESERVED and not p.name.startswith("."))

    def _finish_interrupted_install(self) -> None:
        marker = self.root / INSTALL_MARKER
        if not marker.exists():
            return
        pending = json.loads(marker.read_text())
        log.warning("finishing an interrupted install of %s into %s", pending["source"], self.root)
        with self._locked():
            self._copy_live(self.root / pending["source"])
            self._write(pending["state"])
            marker.unlink()


def _checked(version: str) -> str:
    if not version or "/" in version or version.startswith("."):
        raise RegistryError(f"invalid version name '{version}'")
    return version


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:6]}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _replace_dir(source: Path, target: Path) -> None:
    """Move ``source`` to ``target``, replacing it; the old folder is set aside first."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:6]}")
        os.rename(target, old)
    os.rename(source, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
