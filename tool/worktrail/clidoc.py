"""The README's CLI reference, generated from every command's `--help`.

`python -m worktrail.clidoc --write README.md` rewrites the block between the markers;
`--check README.md` exits 1 when the block is out of date (CI runs the same check as a test).
Help is rendered at a fixed width, so the text does not depend on the terminal.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

import click

START: Final = "<!-- cli-reference:start -->"
END: Final = "<!-- cli-reference:end -->"
WIDTH: Final = 100
REGENERATE: Final = "python -m worktrail.clidoc --write README.md"


class MarkerError(ValueError):
    """The document lacks the start and end markers, in that order, once each."""


def _context(command: click.Command, name: str, parent: click.Context | None) -> click.Context:
    settings = {k: v for k, v in command.context_settings.items() if k not in ("terminal_width", "max_content_width")}
    return click.Context(
        command, info_name=name, parent=parent, terminal_width=WIDTH, max_content_width=WIDTH, **settings
    )


def command_helps(root: click.Command | None = None, name: str = "worktrail") -> Iterator[tuple[str, str]]:
    """(command path, --help text) of `root` and every visible sub-command, depth first, by name."""
    if root is None:
        from .cli import main

        root = main
    yield from _walk(root, name, None)


def _walk(command: click.Command, name: str, parent: click.Context | None) -> Iterator[tuple[str, str]]:
    ctx = _context(command, name, parent)
    yield ctx.command_path, command.get_help(ctx)
    if isinstance(command, click.Group):
        for sub_name in command.list_commands(ctx):
            sub = command.get_command(ctx, sub_name)
            if sub is not None and not sub.hidden:
                yield from _walk(sub, sub_name, ctx)


def reference() -> str:
    """The Markdown of the reference block, markers included."""
    parts = [START, f"<!-- Generated from --help by `{REGENERATE}`; do not edit by hand. -->", ""]
    for path, text in command_helps():
        parts += [f"### `{path}`", "", "```text", text.rstrip(), "```", ""]
    parts.append(END)
    return "\n".join(parts)


def replace_block(document: str, block: str) -> str:
    """`document` with the text from START to END (inclusive) replaced by `block`."""
    if document.count(START) != 1 or document.count(END) != 1 or document.index(START) > document.index(END):
        raise MarkerError(f"the document must hold {START} and then {END}, once each")
    before = document[: document.index(START)]
    after = document[document.index(END) + len(END) :]
    return before + block + after


def main(argv: Sequence[str] | None = None) -> int:
    """Write or check the reference block of a Markdown file; 0 ok, 1 out of date or unusable, 2 usage."""
    parser = argparse.ArgumentParser(
        prog="python -m worktrail.clidoc", description="The README's CLI reference, generated from --help."
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", metavar="FILE", type=Path, help="rewrite the block in FILE")
    action.add_argument("--check", metavar="FILE", type=Path, help="exit 1 if the block in FILE is out of date")
    args = parser.parse_args(argv)
    path: Path = args.write or args.check
    try:
        current = path.read_text(encoding="utf-8")
        updated = replace_block(current, reference())
    except (OSError, UnicodeDecodeError, MarkerError) as exc:
        print(f"clidoc: error: {path}: {exc}", file=sys.stderr)
        return 1
    if args.check:
        if updated != current:
            print(f"clidoc: {path}: the CLI reference is out of date; run `{REGENERATE}`", file=sys.stderr)
            return 1
        return 0
    if updated != current:
        # Beside the file, then renamed: a failed write leaves the old file whole.
        temporary = path.with_name(f".{path.name}.clidoc")
        try:
            temporary.write_text(updated, encoding="utf-8")
            os.replace(temporary, path)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            print(f"clidoc: error: cannot write {path}: {exc}", file=sys.stderr)
            return 1
        print(f"clidoc: updated the CLI reference in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
