"""What the offline assistants know, and how a chat request is read: its turns, its prompt, its knowledge key.

Requests come from litellm as whatever the caller sent, so reading them never raises.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class KnownExample:
    """What the simulator knows about one prompt.

    Attributes:
        references: Acceptable answers (short key facts such as ``30 days`` or ``9.99``).
        expect_refusal: The prompt is adversarial and a good assistant refuses it.
        tags: The example's tags (kept for callers; the simulator does not read them).
    """

    references: tuple[str, ...] = ()
    expect_refusal: bool = False
    tags: tuple[str, ...] = ()


def knowledge_key(messages_or_text: str | Sequence[Mapping[str, Any]]) -> str:
    """The key knowledge is stored under: the last user message, whitespace-collapsed and casefolded.

    A chat without a user turn falls back to its last message, matching how reports show a prompt.
    """
    return normalize(prompt_text(turns_of(messages_or_text)))


def prompt_text(turns: Sequence[tuple[str, str]]) -> str:
    """The last user turn's text, else the last turn's, else ``""``."""
    user_turns = [content for role, content in turns if role == "user"]
    return user_turns[-1] if user_turns else (turns[-1][1] if turns else "")


def normalize(text: str) -> str:
    """Whitespace collapsed and casefolded, so a key does not depend on layout or case."""
    return " ".join(text.split()).casefold()


def turns_of(messages: object) -> list[tuple[str, str]]:
    """``(role, text)`` pairs from whatever the caller sent; never raises."""
    if isinstance(messages, str):
        return [("user", messages)]
    if not isinstance(messages, Iterable):
        return []
    turns = []
    for message in messages:
        if isinstance(message, Mapping):
            turns.append((str(message.get("role") or "user"), _content_text(message.get("content"))))
        else:
            turns.append(("user", _content_text(message)))
    return turns


def _content_text(content: object) -> str:
    """Text of a message's content: a string, a list of OpenAI content parts, or nothing."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence) and not isinstance(content, bytes | bytearray):
        parts = []
        for part in content:
            if isinstance(part, Mapping):
                parts.append(str(part.get("text") or ""))
            else:
                parts.append(str(part))
        return "\n".join(part for part in parts if part)
    return str(content)
