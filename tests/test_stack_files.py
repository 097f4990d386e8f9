"""Stack and project files: every value has one meaning, or the error names file, line and fix."""

from __future__ import annotations

import json
import stat
import sys
import textwrap
from pathlib import Path

import pytest

from prodstack.synth.encrypted import EncryptedPlaceholder
from prodstack.synth.project import (
    Project,
    ProjectError,
    StackConfig,
    find_project,
    load_stack_config,
)

PROJECT_FILE = "name: demo\nruntime: python\nmain: program.py\n"


def project_with(
    tmp_path: Path, stack_file: str | bytes, project_file: str = PROJECT_FILE
) -> Project:
    (tmp_path / "Pulumi.yaml").write_text(project_file)
    (tmp_path / "program.py").write_text("")
    data = stack_file if isinstance(stack_file, bytes) else textwrap.dedent(stack_file).encode()
    (tmp_path / "Pulumi.dev.yaml").write_bytes(data)
    return find_project(tmp_path)


def load(tmp_path: Path, stack_file: str | bytes, **options: bool) -> StackConfig:
    return load_stack_config(project_with(tmp_path, stack_file), "dev", **options)


def error(tmp_path: Path, stack_file: str | bytes) -> str:
    with pytest.raises(ProjectError) as raised:
        load(tmp_path, stack_file)
    return str(raised.value)


# -- what is accepted, and how the engine would pass it ---------------------------------------


def test_values_reach_the_program_as_the_pulumi_engine_passes_them(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """\
        config:
          prodstack:app:
            name: shop
            replicas: 3
            ratio: 0.5
            big: 1e3
            zone: {b: 2, a: 1}
          prodstack:environment: dev
          prodstack:flag: true
          prodstack:count: 0x10
          size: large
          aws:config:region: us-west-2
        """,
    )
    values = dict(config.values)
    # Structured values as JSON with sorted keys (Go's encoding/json); 1e3 as the integer 1000.
    assert values["prodstack:app"] == (
        '{"big":1000,"name":"shop","ratio":0.5,"replicas":3,"zone":{"a":1,"b":2}}'
    )
    assert values["prodstack:environment"] == "dev"
    assert values["prodstack:flag"] == "true"
    assert values["prodstack:count"] == "16"
    # No namespace: the project's (Pulumi's stackConfigNamespacedWithProject).
    assert values["demo:size"] == "large"
    # The old ns:config:name form is ns:name (Pulumi's ParseKey).
    assert values["aws:region"] == "us-west-2"
    assert config.secret_keys == ()


def test_quoted_values_and_core_tags_are_strings_or_what_the_tag_says(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """\
        config:
          prodstack:x:
            answer: 'yes'
            day: "2024-01-01"
            code: !!str 010
            seven: !!int "7"
            block: |
              on
        """,
    )
    assert json.loads(config.values["prodstack:x"]) == {
        "answer": "yes",
        "block": "on\n",
        "code": "010",
        "day": "2024-01-01",
        "seven": 7,
    }


def test_an_empty_file_is_a_stack_without_configuration(tmp_path: Path) -> None:
    assert load(tmp_path, "# nothing yet\n").values == {}
    assert load(tmp_path, "config: {}\n").values == {}
    assert load(tmp_path, b"\xef\xbb\xbfconfig:\n  prodstack:a: b\n").values == {"prodstack:a": "b"}


# -- YAML damage: one test per class, each with file:line ---------------------------------------


def test_invalid_yaml_names_file_line_and_column(tmp_path: Path) -> None:
    message = error(tmp_path, "config:\n  prodstack:namespace: [\n")
    assert message == (
        "Pulumi.dev.yaml:3:1: not valid YAML: expected the node content, but found "
        "'<stream end>' (while parsing a flow node)"
    )


@pytest.fixture(autouse=True)
def _in_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # messages name files relative to the working directory


def test_duplicate_keys_at_any_depth_name_both_lines(tmp_path: Path) -> None:
    message = error(
        tmp_path,
        """\
        config:
          prodstack:app:
            canary:
              maxSurge: 1
              maxSurge: 2
          prodstack:namespace: a
          prodstack:namespace: b
        """,
    )
    assert (
        "Pulumi.dev.yaml:5:7: prodstack:app.canary.maxSurge: duplicate key 'maxSurge' "
        "(lines 4 and 5); keep one"
    ) in message
    assert "Pulumi.dev.yaml:7:3: config.prodstack:namespace" not in message
    assert "(lines 6 and 7)" in message


@pytest.mark.parametrize("word", ["yes", "No", "ON", "off", "y", "N"])
def test_yaml_11_booleans_are_refused_not_read_as_booleans_or_numbers(
    tmp_path: Path, word: str
) -> None:
    message = error(tmp_path, f"config:\n  prodstack:app:\n    replicas: {word}\n")
    assert f"Pulumi.dev.yaml:3:15: prodstack:app.replicas: the value {word} is a boolean" in message
    assert f'write true/false or quote the string ("{word}")' in message


def test_dates_and_timestamps_are_refused(tmp_path: Path) -> None:
    message = error(
        tmp_path,
        "config:\n  prodstack:a: 2024-01-01\n  prodstack:b: 2024-01-01T10:00:00Z\n",
    )
    assert "Pulumi.dev.yaml:2:16: prodstack:a: the value 2024-01-01 is a date" in message
    assert 'quote it ("2024-01-01")' in message
    assert "Pulumi.dev.yaml:3:16: prodstack:b:" in message


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("!!set {a, b}", "'!!set'"),
        ("!!binary aGVsbG8=", "'!!binary'"),
        ("!!python/object/apply:os.system [ls]", "'!!python/object/apply:os.system'"),
        ("!custom x", "'!custom'"),
        ("!!timestamp 2024-01-01", "'!!timestamp'"),
    ],
)
def test_tags_other_than_the_core_ones_are_refused(tmp_path: Path, value: str, shown: str) -> None:
    message = error(tmp_path, f"config:\n  prodstack:a: {value}\n")
    assert f"Pulumi.dev.yaml:2:16: prodstack:a: the tag {shown} is not allowed" in message


@pytest.mark.parametrize(
    ("key", "read_as"),
    [("1", "a number"), ("null", "null"), ("true", "a boolean"), ("~", "null")],
)
def test_keys_that_are_not_strings_are_refused(tmp_path: Path, key: str, read_as: str) -> None:
    message = error(tmp_path, f"config:\n  prodstack:app:\n    {key}: x\n")
    assert f"Pulumi.dev.yaml:3:5: prodstack:app: the key '{key}' is read as {read_as}" in message
    assert "quote it" in message


def test_a_mapping_or_list_as_a_key_is_refused(tmp_path: Path) -> None:
    message = error(tmp_path, "config:\n  prodstack:app:\n    [a]: b\n")
    assert "Pulumi.dev.yaml:3:5: prodstack:app: a key is a mapping or list" in message


def test_recursive_aliases_are_refused_without_recursion_error(tmp_path: Path) -> None:
    message = error(tmp_path, "config:\n  prodstack:a: &loop [1, *loop]\n")
    assert (
        "Pulumi.dev.yaml:2:26: prodstack:a[1]: alias *loop refers to a value that contains it"
        in (message)
    )


def test_alias_expansion_is_bounded(tmp_path: Path) -> None:
    lines = ["config:", "  prodstack:l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 7):
        items = ", ".join([f"*l{level - 1}"] * 10)
        lines.append(f"  prodstack:l{level}: &l{level} [{items}]")
    message = error(tmp_path, "\n".join(lines) + "\n")
    assert "more than 100000 values (after expanding aliases)" in message


def test_shared_aliases_within_bounds_are_fine(tmp_path: Path) -> None:
    config = load(tmp_path, "config:\n  prodstack:a: &x {p: 1}\n  prodstack:b: *x\n")
    assert config.values["prodstack:b"] == '{"p":1}'


@pytest.mark.parametrize("depth", [65, 100_000])
def test_deep_nesting_is_refused_without_recursion_error(tmp_path: Path, depth: int) -> None:
    value = "[" * depth + "]" * depth
    message = error(tmp_path, f"config:\n  prodstack:a: {value}\n")
    assert "Pulumi.dev.yaml:2:" in message and "nested deeper than 64 levels" in message
    assert len(message) < 300


def test_a_file_that_is_not_utf8_names_the_byte_offset(tmp_path: Path) -> None:
    message = error(tmp_path, b"config:\n  prodstack:a: caf\xe9\n")
    assert message == (
        "Pulumi.dev.yaml:2: not UTF-8: byte 0xe9 at offset 26; save the file as UTF-8"
    )


def test_control_characters_name_their_line(tmp_path: Path) -> None:
    message = error(tmp_path, b"config:\n  prodstack:a: b\x00\n")
    assert message.startswith("Pulumi.dev.yaml:2: not valid YAML: character U+0000")


@pytest.mark.parametrize("top", ["- a\n- b\n", "just text\n", "42\n"])
def test_a_top_level_that_is_not_a_mapping_is_refused(tmp_path: Path, top: str) -> None:
    message = error(tmp_path, top)
    assert message.startswith("Pulumi.dev.yaml:1:1: the top level of a stack file is a mapping")


def test_config_null_is_refused_with_the_two_ways_out(tmp_path: Path) -> None:
    message = error(tmp_path, "config:\nprodstack:app: {}\n")
    assert (
        "Pulumi.dev.yaml:2:1: unknown top-level key 'prodstack:app'; indent it under config:"
        in (message)
    )
    message = error(tmp_path, "config: null\n")
    assert message == (
        "Pulumi.dev.yaml:1:1: config: is empty; indent the keys under it, or write config: {} "
        "for a stack without configuration"
    )


def test_config_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    message = error(tmp_path, "config:\n  - prodstack:a\n")
    assert message.startswith("Pulumi.dev.yaml:1:1: config: must be a mapping")


@pytest.mark.parametrize("number", ["9007199254740993", "-9007199254740993", "1e20"])
def test_integers_beyond_2_53_are_refused_with_the_key(tmp_path: Path, number: str) -> None:
    message = error(tmp_path, f"config:\n  prodstack:app:\n    replicas: {number}\n")
    assert f"Pulumi.dev.yaml:3:15: prodstack:app.replicas: {number} is outside -2^53..2^53" in (
        message
    )


def test_the_largest_safe_integer_is_accepted(tmp_path: Path) -> None:
    config = load(tmp_path, "config:\n  prodstack:n: 9007199254740992\n")
    assert config.values["prodstack:n"] == "9007199254740992"


@pytest.mark.parametrize("number", [".inf", "-.Inf", ".nan", "1e400"])
def test_infinite_and_nan_floats_are_refused(tmp_path: Path, number: str) -> None:
    message = error(tmp_path, f"config:\n  prodstack:ratio: {number}\n")
    assert "Pulumi.dev.yaml:2:20: prodstack:ratio:" in message


@pytest.mark.parametrize(
    ("number", "why"), [("010", "octal in YAML 1.1"), ("1_000", "number in YAML 1.1"), ("0b11", "")]
)
def test_numbers_yaml_versions_read_differently_are_refused(
    tmp_path: Path, number: str, why: str
) -> None:
    message = error(tmp_path, f"config:\n  prodstack:n: {number}\n")
    assert "Pulumi.dev.yaml:2:16: prodstack:n:" in message and why in message


def test_a_second_document_and_merge_keys_are_refused(tmp_path: Path) -> None:
    assert "Pulumi.dev.yaml:2:1: a second YAML document" in error(
        tmp_path, "config: {}\n---\nconfig: {}\n"
    )
    assert "merge keys ('<<') are not supported" in error(
        tmp_path, "config:\n  prodstack:a: &x {p: 1}\n  prodstack:b:\n    <<: *x\n"
    )


def test_huge_values_are_never_echoed_whole(tmp_path: Path) -> None:
    huge = "x" * 100_000
    message = error(tmp_path, f"config:\n  prodstack:a: !!binary {huge}\n  {huge}: 1\n")
    assert len(message) < 1000


def test_all_problems_of_a_file_are_reported_at_once(tmp_path: Path) -> None:
    message = error(tmp_path, "config:\n  prodstack:a: yes\n  prodstack:b: 2024-01-01\n")
    assert message.startswith("Pulumi.dev.yaml: 2 problems:")


# -- namespaces -----------------------------------------------------------------------------


@pytest.mark.parametrize("namespace", ["prodstak", "prodstacks", "Prodstack", "prdostack"])
def test_a_misspelled_prodstack_namespace_is_refused_with_a_suggestion(
    tmp_path: Path, namespace: str
) -> None:
    message = error(tmp_path, f"config:\n  {namespace}:vaultSecrets: {{}}\n")
    assert message == (
        f"Pulumi.dev.yaml:2:3: unknown namespace '{namespace}': did you mean "
        "prodstack:vaultSecrets? (its keys would be ignored)"
    )


def test_a_misspelled_project_namespace_is_refused_too(tmp_path: Path) -> None:
    assert "did you mean demo:size?" in error(tmp_path, "config:\n  dmeo:size: x\n")


def test_other_namespaces_are_allowed(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "config:\n  aws:region: us-west-2\n  kubernetes:context: c\n  pulumi:tags: {}\n"
        "  demo:x: w\n  datadog:apiUrl: z\n",
    )
    assert set(config.values) == {
        "aws:region",
        "kubernetes:context",
        "pulumi:tags",
        "demo:x",
        "datadog:apiUrl",
    }


def test_a_key_and_its_namespaced_spelling_are_one_key(tmp_path: Path) -> None:
    message = error(tmp_path, "config:\n  size: a\n  demo:size: b\n")
    assert "Pulumi.dev.yaml:3:3: 'demo:size' and 'size' are the same key demo:size" in message


@pytest.mark.parametrize("key", ["a:b:c", ":x", "prodstack:"])
def test_keys_that_are_not_namespace_name_are_refused(tmp_path: Path, key: str) -> None:
    assert "is not a configuration key; write namespace:name" in error(
        tmp_path, f"config:\n  '{key}': 1\n"
    )


def test_unknown_top_level_keys_and_esc_environments_are_refused(tmp_path: Path) -> None:
    message = error(tmp_path, "confg:\n  a: b\n")
    assert "Pulumi.dev.yaml:1:1: unknown top-level key 'confg' (allowed: config," in message
    message = error(tmp_path, "environment: [shop/dev]\nconfig: {}\n")
    assert "environment: (Pulumi ESC) cannot be opened by the offline engine" in message


# -- encrypted values -----------------------------------------------------------------------

ENCRYPTED = """\
secretsprovider: passphrase
encryptionsalt: v1:abc
config:
  prodstack:token:
    secure: v1:AAAA
  prodstack:db:
    host: db.internal
    password:
      secure: v1:BBBB
"""


def fake_pulumi(folder: Path, script: str) -> None:
    folder.mkdir()
    executable = folder / "pulumi"
    executable.write_text(f"#!{sys.executable}\n{textwrap.dedent(script)}")
    executable.chmod(executable.stat().st_mode | stat.S_IXUSR)


def test_encrypted_values_without_a_pulumi_cli_are_refused_naming_every_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    message = error(tmp_path, ENCRYPTED)
    assert message.startswith(
        "Pulumi.dev.yaml: 2 encrypted value(s) that the offline engine cannot decrypt "
        "(there is no pulumi CLI on PATH):"
    )
    assert "  Pulumi.dev.yaml:4:3: prodstack:token\n" in message
    assert "  Pulumi.dev.yaml:8:5: prodstack:db.password\n" in message
    assert "install the Pulumi CLI and log in to the stack's backend" in message


def test_encrypted_values_are_decrypted_by_the_pulumi_cli_when_it_can(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The output shape of `pulumi config --show-secrets --json` (pkg/cmd/pulumi/config/config.go).
    fake_pulumi(
        tmp_path / "bin",
        """\
        import json, sys
        args = sys.argv[1:]
        assert args[:3] == ["config", "--show-secrets", "--json"], args
        assert args[args.index("--stack") + 1] == "dev"
        assert args[args.index("--config-file") + 1].endswith("Pulumi.dev.yaml")
        print(json.dumps({
            "prodstack:token": {"value": "tok-123456", "secret": True},
            "prodstack:db": {
                "value": json.dumps({"host": "db.internal", "password": "pw-987654"}),
                "objectValue": {"host": "db.internal", "password": "pw-987654"},
                "secret": True,
            },
        }))
        """,
    )
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    config = load(tmp_path, ENCRYPTED)
    assert config.values["prodstack:token"] == "tok-123456"
    assert json.loads(config.values["prodstack:db"])["password"] == "pw-987654"
    assert config.secret_keys == ("prodstack:token", "prodstack:db")
    assert set(config.plaintexts) == {
        ("prodstack:token", "tok-123456"),
        ("prodstack:db.password", "pw-987654"),
    }


def test_a_pulumi_cli_that_cannot_decrypt_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_pulumi(
        tmp_path / "bin",
        """\
        import sys
        print("error: no stack named 'dev' found", file=sys.stderr)
        sys.exit(255)
        """,
    )
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    message = error(tmp_path, ENCRYPTED)
    assert "(pulumi config --show-secrets failed (exit 255): error: no stack named 'dev'" in (
        message
    )


def test_allowed_encrypted_values_become_placeholders_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    config = load(tmp_path, ENCRYPTED, allow_encrypted=True)
    assert config.values["prodstack:token"] == EncryptedPlaceholder("prodstack:token").text
    db = json.loads(config.values["prodstack:db"])
    assert EncryptedPlaceholder.find(db) == [EncryptedPlaceholder("prodstack:db.password")]
    assert config.encrypted == ("prodstack:token", "prodstack:db.password")
    assert config.plaintexts == ()


# -- the project file -----------------------------------------------------------------------


def test_the_project_file_is_read_as_strictly(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: demo\nname: other\nruntime: python\n")
    with pytest.raises(ProjectError, match=r"Pulumi.yaml:2:1: name: duplicate key 'name'"):
        find_project(tmp_path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("runtime: python\n", "Pulumi.yaml:1:1: name must be the project's name"),
        ("name: a/b\nruntime: python\n", "Pulumi.yaml:1:1: name must be the project's name"),
        ("name: demo\nmain: [x]\n", "Pulumi.yaml:2:1: main must be a path"),
        ("- name\n", "Pulumi.yaml:1: a project file is a mapping"),
        ("name: demo\nconfig:\n  demo:x: 1\n", "Pulumi.yaml:2:1: project-level config"),
        ("name: yes\n", "Pulumi.yaml:1:7: name: the value yes is a boolean"),
    ],
)
def test_project_file_problems_name_the_line(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "Pulumi.yaml").write_text(text)
    with pytest.raises(ProjectError) as raised:
        find_project(tmp_path)
    assert str(raised.value).startswith(expected)


@pytest.mark.parametrize("stack", ["..", ".", "../etc", "a/b", "/abs", "a\0b", "x" * 101, ""])
def test_stack_names_that_could_escape_are_refused(tmp_path: Path, stack: str) -> None:
    project = project_with(tmp_path, "config: {}\n")
    with pytest.raises(ProjectError, match="invalid stack name"):
        project.stack_file(stack)
