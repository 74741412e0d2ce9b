"""``voiceflow --help`` and every command's ``--help`` read as plain text: the usage examples
of the module docstring follow the options, without reStructuredText markup."""

import importlib

import pytest

from voiceflow.bin import cli
from voiceflow.bin.common import plain_text


def test_plain_text_drops_roles_literals_and_block_markers():
    doc = "See :mod:`voiceflow.infer` and ``--nfe``.\n\nUsage::\n\n    voiceflow x"
    assert plain_text(doc) == "See voiceflow.infer and --nfe.\n\nUsage:\n\n    voiceflow x"


def test_top_level_help_lists_every_command(capsys):
    assert cli.main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "``" not in text and ":mod:" not in text and "::" not in text
    for name in cli.COMMANDS:
        assert f"voiceflow {name} " in text, name


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_command_help_shows_its_usage_in_plain_text(name, capsys):
    module = importlib.import_module(cli.COMMANDS[name])
    with pytest.raises(SystemExit) as stop:
        module.main(["--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: voiceflow {name}")
    assert "``" not in text and ":mod:" not in text and ":func:" not in text
    # the docstring's examples and notes come after the options
    options, _, after = text.partition("\noptions:\n")
    assert plain_text(module.__doc__.strip().partition("\n")[2]).strip() in after
    assert "Usage:\n" in after or "Usage" not in module.__doc__
