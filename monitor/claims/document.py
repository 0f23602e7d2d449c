"""Reading a live-blog document (the seed JSON shape, or JSON lines of posts) into `Post`s.

Raises `InputError` naming the file, and the line for JSON lines or bad JSON, when the input
cannot be read: a missing file, bad JSON, a post without an id, a bad `published` time.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor.errors import InputError
from monitor.posts import Post


def _text_list(value: Any, where: str, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{where}: {what} must be a list of text")
    return tuple(value)


def _captions(images: Any, where: str) -> tuple[str, ...]:
    if images is None:
        return ()
    if not isinstance(images, list):
        raise InputError(f"{where}: images must be a list")
    out = []
    for image in images:
        if isinstance(image, str):
            out.append(image)
        elif isinstance(image, dict):
            for key in ("caption", "alt"):
                if isinstance(image.get(key), str) and image[key].strip():
                    out.append(image[key])
    return tuple(out)


def _time(value: Any, where: str, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{where}: {field} {value!r} is not an ISO 8601 time") from None


def post_from_dict(data: Any, where: str) -> Post:
    """One post of the seed shape (`id`, `published`, `title`, `paragraphs`, `images`)."""
    if not isinstance(data, dict):
        raise InputError(f"{where}: a post must be a JSON object")
    post_id = data.get("id", data.get("post_id"))
    if post_id in (None, "") or not isinstance(post_id, str | int):
        raise InputError(f"{where}: post has no id")
    captions = _captions(data.get("images"), where) + _text_list(
        data.get("captions"), where, "captions"
    )
    return Post(
        post_id=str(post_id),
        title=str(data.get("title") or ""),
        paragraphs=_text_list(data.get("paragraphs"), where, "paragraphs"),
        captions=captions,
        published=_time(data.get("published"), where, "published"),
        modified=_time(data.get("modified"), where, "modified"),
        byline=_text_list(data.get("byline"), where, "byline"),
        url=str(data.get("url") or ""),
    )


def parse_document(text: str, name: str) -> list[Post]:
    """Posts of a document: `{"page": ..., "posts": [...]}`, a list of posts, or JSON lines."""
    stripped = text.lstrip()
    if not stripped:
        return []
    if stripped.startswith(("{", "[")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            if stripped.startswith("{") and exc.msg.startswith("Extra data"):
                return _json_lines(text, name)
            raise InputError(f"{name} line {exc.lineno}: not valid JSON: {exc.msg}") from None
        if isinstance(data, dict) and "posts" in data:
            posts = data["posts"]
            if not isinstance(posts, list):
                raise InputError(f"{name}: posts must be a list")
            return [post_from_dict(p, f"{name} post {i + 1}") for i, p in enumerate(posts)]
        if isinstance(data, list):
            return [post_from_dict(p, f"{name} post {i + 1}") for i, p in enumerate(data)]
        return [post_from_dict(data, f"{name} line 1")]
    raise InputError(f"{name} line 1: not valid JSON: expected an object or JSON lines of posts")


def _json_lines(text: str, name: str) -> list[Post]:
    posts = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{name} line {number}: not valid JSON: {exc.msg}") from None
        posts.append(post_from_dict(data, f"{name} line {number}"))
    return posts


def read_document(path: Path) -> list[Post]:
    """Read and parse a document file; InputError when it is missing or unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    return parse_document(text, str(path))
