"""The YAML reader: safe, strict, and exact about where each problem is."""

from __future__ import annotations

import pytest

from worktrail.yamlio import MAX_DEPTH, MAX_FILE_BYTES, SourceError, decode, parse_front_matter, parse_yaml


def parse(text: str):
    return parse_yaml(text, "f.yaml").data


def error_of(text: str) -> str:
    with pytest.raises(SourceError) as info:
        parse_yaml(text, "f.yaml")
    return str(info.value)


def test_scalars_follow_yaml_1_2_core_so_nothing_is_guessed():
    data = parse("a: yes\nb: no\nc: on\nd: 2026-03-01\ne: 10:00\nf: true\ng: 1.5\nh: 7\ni: ~\nj: 0x1f\n")
    assert data == {
        "a": "yes",
        "b": "no",
        "c": "on",
        "d": "2026-03-01",
        "e": "10:00",
        "f": True,
        "g": 1.5,
        "h": 7,
        "i": None,
        "j": 31,
    }


def test_infinity_and_nan_stay_text_and_are_never_numbers():
    assert parse("a: .inf\nb: .nan\n") == {"a": ".inf", "b": ".nan"}


def test_duplicate_keys_are_refused_with_both_lines():
    assert error_of("a: 1\nb: 2\na: 3\n") == "f.yaml:3:1: duplicate key 'a' (first at line 1)"


def test_anchors_and_aliases_are_refused():
    assert error_of("a: &x 1\nb: *x\n") == "f.yaml:1:4: YAML anchors (&x) are not allowed; write the value out"
    assert error_of("b: *x\n") == "f.yaml:1:4: YAML aliases (*x) are not allowed; write the value out"


def test_python_tags_are_refused_and_never_run():
    assert error_of("a: !!python/name:os.system x\n") == "f.yaml:1:4: YAML tag !!python/name:os.system is not allowed"


def test_custom_local_tags_are_refused():
    assert "YAML tag !thing is not allowed" in error_of("a: !thing x\n")


def test_merge_keys_are_refused():
    assert "merge keys" in error_of("<<: {a: 1}\n")


def test_nesting_is_capped():
    deep = "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5)
    assert "nesting is deeper than" in error_of(f"a: {deep}\n")


def test_file_size_is_capped():
    with pytest.raises(SourceError) as info:
        decode(b"a" * (MAX_FILE_BYTES + 1), "big.yaml")
    assert "the limit is" in info.value.message


def test_byte_order_mark_and_windows_line_endings_are_accepted():
    assert decode(b"\xef\xbb\xbfa: 1\r\nb: 2\r\n", "f.yaml") == "a: 1\nb: 2\n"


def test_non_utf8_names_line_and_column_of_the_bad_byte():
    with pytest.raises(SourceError) as info:
        decode(b"a: 1\nb: caf\xe9\n", "f.yaml")
    assert str(info.value).startswith("f.yaml:2:7: file is not valid UTF-8 (byte 0xe9)")


def test_control_characters_are_refused_with_their_position():
    assert error_of("a: 1\nb: x\x07y\n") == "f.yaml:2:5: invalid YAML: control character U+0007 is not allowed"


def test_a_second_document_is_refused():
    assert "only one YAML document" in error_of("a: 1\n---\nb: 2\n")


def test_syntax_errors_carry_the_line():
    assert error_of("a: [1, 2\nb: 3\n").startswith("f.yaml:2:")


def test_locations_of_values_and_keys_are_kept():
    doc = parse_yaml("a: 1\nlist:\n  - x: 2\n    y: 3\n", "f.yaml")
    assert str(doc.loc(("list", 0, "y"))) == "f.yaml:4:8"
    assert str(doc.key_loc(("list", 0, "y"))) == "f.yaml:4:5"
    assert str(doc.loc(("list", 0, "missing"))) == "f.yaml:3:5"


def test_front_matter_lines_are_counted_from_the_top_of_the_file():
    record = parse_front_matter("---\ntitle: T\nstatus: open\n---\nBody *text*\n", "t.md")
    assert record.doc.data == {"title": "T", "status": "open"}
    assert str(record.doc.loc(("status",))) == "t.md:3:9"
    assert record.body == "Body *text*\n"
    assert record.body_line == 5


def test_front_matter_may_follow_an_editor_schema_comment():
    text = "# yaml-language-server: $schema=x.json\n---\ntitle: T\n---\n"
    assert parse_front_matter(text, "t.md").doc.data == {"title": "T"}


def test_unclosed_front_matter_is_refused():
    with pytest.raises(SourceError) as info:
        parse_front_matter("---\ntitle: T\n", "t.md")
    assert str(info.value) == "t.md:1:1: front matter is not closed by a '---' line"


def test_an_empty_document_gives_the_empty_value():
    assert parse_yaml("# only a comment\n", "f.yaml", empty=[]).data == []
