"""What Slack accepts in an incoming-webhook payload, as the receiver in the tests checks it."""

from __future__ import annotations

import re
from typing import Any

_ENTITY = re.compile(r"&(amp|lt|gt);")


def _escaped(text: str, where: str, mrkdwn: bool) -> list[str]:
    problems = []
    lines = text.split("\n")
    if mrkdwn:  # a leading ">" is the quote marker, the one control use of ">" we allow
        lines = [line[1:] if line.startswith(">") else line for line in lines]
    body = "\n".join(lines)
    if "<" in body or ">" in body:
        problems.append(f"{where}: unescaped < or > in {text[:80]!r}")
    if "&" in _ENTITY.sub("", body):
        problems.append(f"{where}: unescaped & in {text[:80]!r}")
    return problems


def _text_obj(obj: Any, where: str, limit: int) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        return [f"{where}: not a text object"]
    text = obj.get("text", "")
    problems = [] if text else [f"{where}: empty text"]
    if obj["type"] == "mrkdwn" and obj.get("verbatim") is not True:
        problems.append(
            f"{where}: mrkdwn without verbatim (Slack would auto-link mentions and URLs)"
        )
    if len(text) > limit:
        problems.append(f"{where}: {len(text)} characters > {limit}")
    return problems + _escaped(text, where, obj["type"] == "mrkdwn")


def slack_problems(payload: Any) -> list[str]:
    """Every way `payload` breaks Slack's limits or lets post text through unescaped (empty: valid)."""
    problems: list[str] = []
    text = payload.get("text", "")
    if len(text) > 40_000:
        problems.append("text: longer than 40000")
    problems += _escaped(text, "text", mrkdwn=True)
    blocks = payload.get("blocks", [])
    if len(blocks) > 50:
        problems.append(f"{len(blocks)} blocks > 50")
    for i, block in enumerate(blocks):
        where = f"blocks[{i}]({block.get('type')})"
        kind = block.get("type")
        if kind == "header":
            obj = block.get("text", {})
            if obj.get("type") != "plain_text":
                problems.append(f"{where}: header text must be plain_text")
            problems += _text_obj(obj, where, 150)
        elif kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"{where}: needs text or fields")
            if "text" in block:
                problems += _text_obj(block["text"], where, 3000)
            fields = block.get("fields", [])
            if len(fields) > 10:
                problems.append(f"{where}: {len(fields)} fields > 10")
            for j, f in enumerate(fields):
                problems += _text_obj(f, f"{where}.fields[{j}]", 2000)
        elif kind == "context":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= 10:
                problems.append(f"{where}: 1 to 10 elements")
            for j, e in enumerate(elements):
                problems += _text_obj(e, f"{where}.elements[{j}]", 3000)
        elif kind == "actions":
            for j, e in enumerate(block.get("elements", [])):
                problems += _text_obj(e.get("text"), f"{where}.elements[{j}]", 75)
                url = e.get("url", "")
                if not url.startswith(("http://", "https://")) or len(url) > 3000:
                    problems.append(f"{where}.elements[{j}]: bad url {url[:80]!r}")
        else:
            problems.append(f"{where}: unexpected block type")
    return problems
