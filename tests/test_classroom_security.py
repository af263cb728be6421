"""No file access from input: a pasted or uploaded scenario may extend only bundled scenarios.

On a classroom server every student can type into the scenario box; ``extends = "/etc/passwd"``
must neither open that file nor echo any of its content. The same rule is the library's
(``load_scenario(..., allow_paths=False)``, ``read_scenario_text``) for any server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from classroom.session import Classroom
from sim.scenario import list_scenarios, load_scenario, read_scenario_text

SECRET = "TEACHER-SECRET-7f3a"


@pytest.fixture
def secret_files(tmp_path: Path) -> dict[str, Path]:
    """A file that is not TOML and a TOML scenario fragment, both holding a secret."""
    not_toml = tmp_path / "notes.txt"
    not_toml.write_text(f"{SECRET}: grades of the class\n")
    toml = tmp_path / "private.toml"
    toml.write_text(f'[meta]\ntitle = "{SECRET}"\n')
    return {"not_toml": not_toml, "toml": toml}


def _content(scn: sim.Scenario) -> dict:
    """What a run depends on: everything but the teaching text (not inherited by extends)."""
    return scn.spec.model_dump(mode="json", by_alias=True, exclude={"teaching", "meta"})


def _opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every file the scenario loader reads."""
    seen: list[str] = []
    original = Path.read_bytes

    def spy(self: Path) -> bytes:
        seen.append(str(self))
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", spy)
    return seen


@pytest.mark.parametrize("which", ["not_toml", "toml"])
def test_pasted_path_extends_is_refused_without_opening_it(
        which: str, secret_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    target = secret_files[which]
    opened = _opened(monkeypatch)
    room = Classroom()
    for parent in (str(target), f"../../{target.name}", target.name, "/etc/passwd"):
        assert not room.use_text(f'extends = "{parent}"\n[actors.NATO]\ncohesion = 0.9\n')
        message = room.errors["edited"]
        assert message.startswith("edited.toml: extends: may only name a bundled scenario")
        assert SECRET not in message and "root" not in message
        assert ", ".join(list_scenarios()) in message
    assert not any(str(target) in p or "passwd" in p for p in opened), opened
    assert room.source_label == "baseline"  # the run keeps the last valid settings
    # An upload is held to the same rule.
    assert not room.upload("mine.toml", f'extends = "{target}"\n'.encode())
    assert room.errors["upload"].startswith("mine.toml: extends: may only name a bundled")


def test_bundled_names_are_still_extended(monkeypatch: pytest.MonkeyPatch) -> None:
    room = Classroom()
    assert room.use_text('extends = "split_nato_leaky_brics"\n[actors.NATO]\ncohesion = 0.5\n')
    assert room.value("actors.NATO.cohesion") == 0.5
    expected = load_scenario("split_nato_leaky_brics").with_overrides(
        {"actors.NATO.cohesion": 0.5})
    assert _content(room.scenario) == _content(expected)


def test_library_option_for_any_server(secret_files: dict[str, Path]) -> None:
    toml = secret_files["toml"]
    with pytest.raises(sim.ScenarioError, match="paths are not accepted here"):
        load_scenario(toml, allow_paths=False)
    with pytest.raises(sim.ScenarioError, match="no bundled policy"):
        load_scenario("baseline", policy=str(toml), allow_paths=False)
    assert load_scenario("baseline", allow_paths=False).content_hash() == \
        load_scenario("baseline").content_hash()
    text = f'extends = "{toml}"\n'
    with pytest.raises(sim.ScenarioError) as info:
        read_scenario_text(text, "pasted.toml")  # allow_paths=False is the default
    assert info.value.key == "extends" and SECRET not in str(info.value)
    # A trusted caller (a script on its own files) may still extend by path.
    child = toml.parent / "child.toml"
    child.write_text('extends = "baseline"\n')
    trusted = read_scenario_text(f'extends = "{child}"\n', "mine.toml", allow_paths=True)
    assert _content(trusted) == _content(load_scenario("baseline"))


def test_bad_text_names_the_paste_not_the_server() -> None:
    with pytest.raises(sim.ScenarioError) as info:
        read_scenario_text("extends = \n", "pasted.toml")
    assert str(info.value).startswith("pasted.toml: (file): not valid TOML")
    room = Classroom()
    assert not room.upload("x.toml", b"\xff\xfe")
    assert room.errors["upload"] == "x.toml: (file): not UTF-8 text (invalid start byte)"


def test_only_bundled_names_are_chosen() -> None:
    room = Classroom()
    assert not room.choose_scenario("/etc/passwd")
    assert "paths are not accepted here" in room.errors["scenario"]
    assert not room.choose_policy("../../etc/passwd")
    assert room.errors["policy"].endswith("(known: " + ", ".join(sim.list_policies()) + ")")
    assert room.source_label == "baseline" and room.policy is None
