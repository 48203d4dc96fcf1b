"""Reading YAML without trusting it (chatlab/yamlguard.py): the safe loader only, bombs refused before they
expand, duplicate keys refused, and every error located by file and line.

Role files, custom roles, role imports and the price table all read YAML through this module; their own
tests check that the messages reach the user (tests/test_roles.py, tests/test_hostile_input.py).
"""

from __future__ import annotations

import pytest

from chatlab.yamlguard import MAX_FILE_BYTES, YamlFileError, load_yaml_guarded, node_line, read_text_capped


class PricesError(YamlFileError):
    """A caller's own error type, as the role and price loaders pass one."""


def refused(text: str, **limits) -> YamlFileError:
    with pytest.raises(PricesError) as info:
        load_yaml_guarded(text, "prices.yaml", error=PricesError, **limits)
    assert str(info.value).startswith("prices.yaml")
    return info.value


def billion_laughs(levels: int = 9, fanout: int = 9) -> str:
    lines = ['l0: &l0 "lol"']
    for i in range(1, levels + 1):
        refs = ", ".join([f"*l{i - 1}"] * fanout)
        lines.append(f"l{i}: &l{i} [{refs}]")
    return "\n".join(lines) + "\n"


def test_a_document_loads_with_its_node_tree_for_pointing_at_lines():
    text = "models:\n  gpt-4o:\n    input: 2.5\n    output: 10\n  local: {input: 0}\nlist:\n  - a\n  - b\n"
    data, node = load_yaml_guarded(text, "prices.yaml")
    assert data == {
        "models": {"gpt-4o": {"input": 2.5, "output": 10}, "local": {"input": 0}},
        "list": ["a", "b"],
    }
    assert node_line(node, "models", "gpt-4o", "output") == 4
    assert node_line(node, "list", 1) == 8
    assert node_line(node, "models", "missing", "input") == 2  # the mapping that lacks the key


def test_an_empty_document_is_nothing():
    assert load_yaml_guarded("# only a comment\n") == (None, None)


def test_a_syntax_error_names_the_line():
    err = refused("a: 1\nb: [unclosed\nc: 3\n")
    assert err.line is not None and err.line >= 2 and "YAML syntax error" in err.message


def test_python_tags_are_refused_not_run():
    err = refused("a: !!python/object/apply:os.system [echo hi]\n")
    assert err.line == 1 and "could not determine a constructor" in err.message


def test_a_duplicate_key_is_refused_with_both_lines():
    err = refused("a: 1\nb: 2\na: 3\n")
    assert err.line == 3 and "duplicate key 'a' (first used on line 1)" in err.message


def test_anchors_and_merge_keys_are_allowed():
    data, _ = load_yaml_guarded("base: &b {x: 1, y: 2}\nmore: {<<: *b, y: 3}\n")
    assert data["more"] == {"x": 1, "y": 3}


def test_billion_laughs_is_refused_before_it_expands():
    # Expanded, this document would not fit in memory; tests/test_hostile_input.py runs bombs under a
    # memory cap and a deadline. Here: the refusal and its message.
    assert "YAML bomb" in refused(billion_laughs()).message


def test_a_merge_key_bomb_is_refused_before_it_expands():
    # Two aliases per level: only ~80 aliases, but merging doubles the mapping at every level.
    lines = ["m0: &m0 {k: v}"] + [f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}]}}" for i in range(1, 41)]
    assert "YAML bomb" in refused("\n".join(lines) + "\n").message


def test_too_many_aliases_names_the_line_where_the_limit_is_crossed():
    refs = ", ".join(["*a"] * 1500)
    err = refused(f"a: &a x\nb: [{refs}]\n")
    assert err.line == 2 and "more than 1,000 aliases" in err.message


def test_too_many_values_even_without_aliases():
    err = refused("".join(f"- {n}\n" for n in range(200)), max_nodes=100)
    assert "more than 100 values" in err.message


def test_a_recursive_alias_is_refused():
    assert "recursive" in refused("roles: &r\n  - *r\n").message


def test_deep_nesting_is_refused():
    assert "nested too deeply" in refused("a: " + "[" * 3000 + "]" * 3000 + "\n").message


def test_an_oversized_text_is_refused_unread():
    err = refused("# " + "x" * MAX_FILE_BYTES + "\n")
    assert "larger than" in err.message and err.line is None


def test_reading_a_file_caps_its_size_and_checks_its_encoding(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_bytes(b"\xef\xbb\xbfa: 1\n")  # a BOM, as Notepad writes
    assert read_text_capped(good, PricesError) == "a: 1\n"
    with pytest.raises(PricesError, match="file not found"):
        read_text_capped(tmp_path / "missing.yaml", PricesError)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * 101)
    with pytest.raises(PricesError, match="larger than"):
        read_text_capped(big, PricesError, max_bytes=100)
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"a: 1\nb: caf\xe9\n")
    with pytest.raises(PricesError, match="not valid UTF-8") as info:
        read_text_capped(latin1, PricesError)
    assert info.value.line == 2
