"""The same task pages for other static-site generators: Hugo (one site) and MkDocs.

Each task of the workspace becomes one Markdown page with YAML front matter (the task's fields) and
its description followed by its comments, so every generator renders the same texts as Worktrail's
task pages. Files are copied as text: no Worktrail code runs here.
"""

from __future__ import annotations

import re
from pathlib import Path

_FRONT = re.compile(r"\A---\n(.*?)\n---\n?(.*)\Z", re.DOTALL)

HUGO_CONFIG = """baseURL = "https://example.org/"
title = "Bench"
disableKinds = ["taxonomy", "term"]
[markup.goldmark.renderer]
unsafe = false
"""

HUGO_BASEOF = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title></head>
<body><nav><a href="{{ "/" | relURL }}">Home</a></nav><main>{{ block "main" . }}{{ end }}</main></body></html>
"""

HUGO_SINGLE = """{{ define "main" }}<h1>{{ .Title }}</h1>
<dl>{{ range $key, $value := .Params }}<dt>{{ $key }}</dt><dd>{{ $value }}</dd>{{ end }}</dl>
{{ .Content }}{{ end }}
"""

HUGO_LIST = """{{ define "main" }}<h1>{{ .Title }}</h1>
<table>{{ range .Pages }}<tr><td><a href="{{ .RelPermalink }}">{{ .Title }}</a></td><td>{{ .Params.status }}</td></tr>{{ end }}</table>
{{ end }}
"""

MKDOCS_CONFIG = """site_name: Bench
use_directory_urls: false
theme:
  name: mkdocs
"""


def _split(text: str) -> tuple[str, str]:
    match = _FRONT.match(text)
    if match is None:
        return "", text
    return match.group(1), match.group(2)


def task_pages(workspace: Path) -> dict[str, str]:
    """`<project>/<TASK-ID>.md` -> a Markdown page: the task's front matter, description and comments."""
    pages: dict[str, str] = {}
    for task_file in sorted(workspace.glob("projects/*/tasks/*.md")):
        front, body = _split(task_file.read_text(encoding="utf-8"))
        parts = [f"---\n{front}\n---\n\n{body.strip()}\n"]
        comments = sorted((task_file.parent / task_file.stem / "comments").glob("*.md"))
        if comments:
            parts.append("\n## Comments\n")
        for comment in comments:
            cfront, cbody = _split(comment.read_text(encoding="utf-8"))
            fields = dict(line.split(": ", 1) for line in cfront.splitlines() if ": " in line)
            parts.append(
                f"\n### {comment.stem}: {fields.get('author', '')}, {fields.get('date', '')}\n\n{cbody.strip()}\n"
            )
        pages[f"{task_file.parent.parent.name}/{task_file.stem}.md"] = "".join(parts)
    return pages


def write_hugo_site(pages: dict[str, str], folder: Path) -> None:
    """A Hugo project in `folder` with every page under content/ and minimal layouts."""
    (folder / "layouts" / "_default").mkdir(parents=True)
    (folder / "hugo.toml").write_text(HUGO_CONFIG, encoding="utf-8")
    (folder / "layouts" / "_default" / "baseof.html").write_text(HUGO_BASEOF, encoding="utf-8")
    (folder / "layouts" / "_default" / "single.html").write_text(HUGO_SINGLE, encoding="utf-8")
    (folder / "layouts" / "_default" / "list.html").write_text(HUGO_LIST, encoding="utf-8")
    for rel, text in pages.items():
        target = folder / "content" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not (target.parent / "_index.md").exists():
            (target.parent / "_index.md").write_text(f"---\ntitle: {target.parent.name}\n---\n", encoding="utf-8")
        target.write_text(text, encoding="utf-8")


def write_mkdocs_site(pages: dict[str, str], folder: Path) -> None:
    """An MkDocs project in `folder` with every page under docs/ (navigation built by MkDocs)."""
    (folder / "docs").mkdir(parents=True)
    (folder / "mkdocs.yml").write_text(MKDOCS_CONFIG, encoding="utf-8")
    (folder / "docs" / "index.md").write_text("# Bench\n\nEvery task of the workspace.\n", encoding="utf-8")
    for rel, text in pages.items():
        front, body = _split(text)
        title = next((line[7:] for line in front.splitlines() if line.startswith("title: ")), rel)
        target = folder / "docs" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        # MkDocs reads YAML front matter as page meta; the title becomes the page heading.
        target.write_text(f"---\n{front}\n---\n\n# {title}\n\n{body}", encoding="utf-8")
