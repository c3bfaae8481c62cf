"""What is wrong with a YAML file a user wrote, in sentences naming the file, line and key.

PyYAML reports a syntax error with a "mark" and silently keeps the last of two equal keys;
pydantic reports ``('channels', 2, 'spnd') Extra inputs are not permitted``. Here both become
"configs/datasets/x.yaml, line 14: unknown key `channels[2].spnd` (did you mean `spend`?)":
the YAML path a person can search for, the line an editor jumps to, and the likely fix.
"""

import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from mmm_pipeline.core.data.errors import display_path
from mmm_pipeline.core.hints import closest, suggest

Loc = tuple[str | int, ...]


class ConfigError(ValueError):
    """A dataset or settings file is missing or does not describe a usable dataset."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong at one place (``loc``, the keys from the top of the file) of a YAML file."""

    loc: Loc
    text: str


@dataclass(frozen=True)
class YamlFile:
    """A parsed YAML file and its node tree, which remembers the line of every key."""

    path: Path
    data: Any
    root: yaml.Node | None

    def line(self, loc: Loc) -> int | None:
        """The line of the deepest part of ``loc`` present in the file (1-based)."""
        node, line = self.root, None
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
                if match is None:
                    break
                line, node = match[0].start_mark.line + 1, match[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line

    def fail(self, problems: list[Problem]) -> None:
        """Raise one :class:`ConfigError` listing every problem with its line; nothing if none."""
        if not problems:
            return
        shown = display_path(self.path)
        lines = [(self.line(p.loc), p.text) for p in problems]
        if len(lines) == 1:
            line, text = lines[0]
            raise ConfigError(f"{shown}{f', line {line}' if line else ''}: {text}")
        body = [f"  {f'line {line}: ' if line else ''}{text}" for line, text in lines]
        raise ConfigError("\n".join([f"{shown}: {len(lines)} problems:"] + body))


def read_yaml(path: Path) -> YamlFile:
    """Parse ``path``; a syntax error names its line and column, a repeated key both its lines."""
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{shown}: byte 0x{exc.object[exc.start]:02x} is not UTF-8; "
                          "save the file as UTF-8") from None
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        raise ConfigError(_syntax_message(shown, exc)) from None
    finally:
        loader.dispose()
    parsed = YamlFile(path, data, root)
    parsed.fail(_repeated_keys(root, ()))
    return parsed


def _syntax_message(shown: str, exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    what = exc.problem or ""
    if exc.context and exc.context_mark is not None:
        what = f"{exc.context} that starts on line {exc.context_mark.line + 1}, {what}"
    hint = "indent with spaces, not tabs; " if "\\t" in what else ""
    return (f"{shown}{where}: not valid YAML ({what}). Fix: {hint}check the indentation, colons and quotes "
            "on that line and the one above it")


def _repeated_keys(node: yaml.Node | None, loc: Loc) -> list[Problem]:
    """YAML keeps the last of two equal keys without a word; a user means one of them."""
    problems: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key, value in node.value:
            line = key.start_mark.line + 1
            if key.value in first:
                problems.append(Problem(loc + (key.value,), f"key `{_path(loc + (key.value,))}` appears twice "
                                        f"(lines {first[key.value]} and {line}); delete one of them"))
            first.setdefault(key.value, line)
            problems += _repeated_keys(value, loc + (key.value,))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            problems += _repeated_keys(item, loc + (i,))
    return problems


def _path(loc: Loc) -> str:
    """``('channels', 2, 'fill')`` -> ``channels[2].fill``: the key as a person searches for it."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def unknown_settings(override: Any, defaults: Mapping, open_paths: Iterable[str]) -> list[Problem]:
    """Keys under ``settings:`` that ``configs/defaults.yaml`` does not have, with the likely key.

    ``open_paths`` (``"model.roas_priors"``) are maps whose keys the user names (channels,
    feature kinds, settings paths); every other key must exist in the defaults.
    """
    return _unknown(override, defaults, frozenset(open_paths), ("settings",), _setting_paths(defaults))


def _unknown(override: Any, defaults: Any, open_paths: frozenset[str], loc: Loc, everywhere: list[str]) -> list[Problem]:
    if not isinstance(override, Mapping) or not isinstance(defaults, Mapping) or _path(loc[1:]) in open_paths:
        return []
    problems: list[Problem] = []
    for key, value in override.items():
        here = loc + (str(key),)
        if key in defaults:
            problems += _unknown(value, defaults[key], open_paths, here, everywhere)
            continue
        moved = [p for p in everywhere if p.rsplit(".", 1)[-1] == str(key)]
        hint = f" (did you mean `settings.{moved[0]}`?)" if moved else suggest(str(key), list(defaults), "`")
        problems.append(Problem(here, f"unknown setting `{_path(here)}`{hint}; every setting, with its default, "
                                "is listed in configs/defaults.yaml"))
    return problems


def _setting_paths(tree: Mapping, prefix: str = "") -> list[str]:
    """Every key of the defaults as a dotted path (``model.media.l_max``)."""
    paths = []
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        paths.append(path)
        if isinstance(value, Mapping):
            paths += _setting_paths(value, path)
    return paths


def validation_problems(exc: ValidationError, model: type[BaseModel]) -> list[Problem]:
    """pydantic's errors as sentences: the YAML path, what is wrong, the value found.

    A required key reported missing beside a misspelling of it (``spnd``) is said once, as the
    misspelling with its "did you mean".
    """
    errors = exc.errors()
    meant = {tuple(e["loc"][:-1]) + (closest(str(e["loc"][-1]), _fields_at(model, tuple(e["loc"][:-1]))),)
             for e in errors if e["type"] == "extra_forbidden"}
    problems = []
    for error in errors:
        loc = tuple(error["loc"])
        where = f"`{_path(loc)}`" if loc else "the file"
        kind, message = error["type"], str(error["msg"])
        if kind == "extra_forbidden":
            text = f"unknown key {where}{suggest(str(loc[-1]), _fields_at(model, loc[:-1]), '`')}; correct or remove it"
        elif kind == "missing" and loc in meant:
            continue
        elif kind == "missing":
            text = f"{where} is missing; add it"
        elif kind == "value_error":
            text = f"{where}: {message.removeprefix('Value error, ')}"
        else:
            text = f"{where} {message.replace('Input should', 'should')} (found {_shown_value(error.get('input'))})"
        problems.append(Problem(loc, text))
    return problems


def _shown_value(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, Mapping):
        return "a mapping of " + ", ".join(str(k) for k in value) if value else "an empty mapping"
    if isinstance(value, list):
        return f"a list of {len(value)} item(s)"
    return str(value)


def _fields_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys allowed at ``loc``: walk the model's annotations through lists and dicts."""
    annotation: Any = model
    for part in loc:
        annotation = _optional_inner(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return []
            annotation = field.annotation
        else:  # a list item or a dict value: both hold the last type argument
            args = typing.get_args(annotation)
            annotation = args[-1] if args else Any
    annotation = _optional_inner(annotation)
    return list(annotation.model_fields) if isinstance(annotation, type) and issubclass(annotation, BaseModel) else []


def _optional_inner(annotation: Any) -> Any:
    """``X | None`` -> ``X``; anything else unchanged."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return inner[0] if len(inner) == 1 else annotation
    return annotation
