"""A dataset YAML with a mistake fails with the file, the line, the YAML path and the likely fix.

Each case edits the text of the shipped Robyn config, so line numbers are those a user's editor
would show for the same mistake.
"""

from pathlib import Path

import pytest

from mmm_pipeline.core.config import ConfigError, list_datasets, load_dataset_config

SHIPPED = Path(__file__).resolve().parents[2] / "configs" / "datasets" / "robyn_weekly.yaml"


def edited(tmp_path: Path, old: str, new: str) -> str:
    """A copy of the Robyn config with ``old`` (which must occur once) replaced by ``new``."""
    text = SHIPPED.read_text()
    assert text.count(old) == 1, old
    path = tmp_path / "mine.yaml"
    path.write_text(text.replace(old, new))
    return str(path)


def error_for(path: str) -> str:
    with pytest.raises(ConfigError) as err:
        load_dataset_config(path)
    message = str(err.value)
    assert "mine.yaml" in message and "Extra inputs" not in message and "errors.pydantic.dev" not in message
    return message


def line_of(path: str, fragment: str) -> int:
    return next(i for i, line in enumerate(Path(path).read_text().splitlines(), 1) if fragment in line)


@pytest.mark.parametrize("name", list_datasets())
def test_every_shipped_dataset_passes_the_strict_checks(name):
    assert load_dataset_config(name).name == name


#: mistake -> (text replaced, replacement, fragment on the reported line, sentence reported on that line)
ONE_LINE_MISTAKES = {
    "misspelt top-level key": ("title:", "tilte:", "tilte", "unknown key `tilte` (did you mean `title`?)"),
    "misspelt source key": ("    kind: fact\n", "    kind: fact\n    encodng: cp1252\n", "encodng",
                            "unknown key `sources.main.encodng` (did you mean `encoding`?)"),
    "misspelt key in a list item": ("{name: ooh, spend: ooh_S}", "{name: ooh, spnd: ooh_S}", "spnd",
                                    "unknown key `channels[1].spnd` (did you mean `spend`?)"),
    "misspelt nested key": ('date: {column: DATE, format: "%Y-%m-%d"}', 'date: {colum: DATE, format: "%Y-%m-%d"}',
                            "colum", "unknown key `sources.main.date.colum` (did you mean `column`?)"),
    "wrong value": ("{name: tv, spend: tv_S}", "{name: tv, spend: tv_S, fill: zeros}", "zeros",
                    "`channels[0].fill` should be 'reject' or 'zero' (found 'zeros')"),
    "unknown encoding": ("    kind: fact\n", "    kind: fact\n    encoding: latin-9x\n", "latin-9x",
                         "'latin-9x' is not an encoding Python knows"),
}


@pytest.mark.parametrize("mistake", ONE_LINE_MISTAKES)
def test_mistake_is_reported_on_its_line_with_the_fix(tmp_path, mistake):
    old, new, fragment, sentence = ONE_LINE_MISTAKES[mistake]
    path = edited(tmp_path, old, new)
    message = error_for(path)
    assert f"line {line_of(path, fragment)}: " in message and sentence in message
    assert "is missing" not in message  # a misspelt required key is one problem, not two


def test_unknown_setting_suggests_the_section_it_belongs_to(tmp_path):
    path = edited(tmp_path, "settings:\n", "settings:\n  model: {l_max: 3}\n  optimiser: {bounds_pct: 0.2}\n")
    message = error_for(path)
    assert "mine.yaml: 2 problems:" in message
    assert "unknown setting `settings.model.l_max` (did you mean `settings.model.media.l_max`?)" in message
    assert "unknown setting `settings.optimiser` (did you mean `optimizer`?)" in message


def test_settings_maps_keyed_by_channel_accept_any_name(tmp_path):
    path = edited(tmp_path, "settings:\n", "settings:\n  model: {roas_priors: {tv: [0.5, 3.0]}}\n"
                  "  optimizer: {bounds: {search: {lower_pct: 0.1}}}\n")
    config = load_dataset_config(path)
    assert config.settings["model"]["roas_priors"] == {"tv": [0.5, 3.0]}
    assert config.settings["model"]["media"]["l_max"] == 8  # siblings of an override keep their defaults


def test_yaml_syntax_error_gives_line_and_column(tmp_path):
    path = edited(tmp_path, "holdout: {periods: 13}", "holdout: {periods: 13")
    message = error_for(path)
    assert "line 38, column 9: not valid YAML" in message and "mapping that starts on line 37" in message


def test_tab_indentation_is_named(tmp_path):
    path = edited(tmp_path, "    frequency: weekly\n    kind: fact", "\tfrequency: weekly\n    kind: fact")
    assert "line 13, column 1" in error_for(path) and "spaces, not tabs" in error_for(path)


def test_repeated_key_names_both_lines(tmp_path):
    path = edited(tmp_path, "holdout: {periods: 13}", "holdout: {periods: 13}\nholdout: {periods: 4}")
    assert "key `holdout` appears twice (lines 37 and 38)" in error_for(path)


def test_unknown_source_and_repeated_channel_read_as_prose(tmp_path):
    path = edited(tmp_path, "{name: ooh, spend: ooh_S}", "{name: tv, spend: ooh_S, source: mian}")
    message = error_for(path)
    assert "channel tv reads source 'mian', which `sources` does not define; the sources are holidays and main" \
        in message
    assert "[" not in message.split(":", 1)[1]
