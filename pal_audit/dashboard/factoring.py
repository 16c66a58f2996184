"""Shared ends of a check's texts, so the page carries them once (pure).

A check's findings say much the same thing: "Ask the customer to grant a PAL-eligible role where
this identity works, e.g. az role assignment create --assignee <object id> --role … --scope <scope>
(or …)". The page renders the shared opening and ending once per check and, per finding, only the
part in between; its script puts each text back together, and without script the reader sees the
shared parts once in the check's heading. Nothing is lost: prefix + middle + suffix is the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Below this many shared characters the markers would cost more than they save.
MIN_SHARED = 24


@dataclass(frozen=True)
class Ends:
    prefix: str = ""
    suffix: str = ""

    def middle(self, text: str) -> str:
        """What is left of `text` once its shared ends are taken off."""
        return text[len(self.prefix):len(text) - len(self.suffix)]


def _common_prefix(texts: Sequence[str]) -> str:
    first, last = min(texts), max(texts)     # the common prefix of all is that of the extremes
    n = 0
    while n < len(first) and first[n] == last[n]:
        n += 1
    return first[:n]


def _word_cut(prefix: str, texts: Sequence[str]) -> str:
    """Shorten to end after whitespace, unless every text is exactly the prefix (keep it whole)."""
    if all(len(t) == len(prefix) for t in texts):
        return prefix
    end = max(prefix.rfind(" "), prefix.rfind("\n"))
    return prefix[:end + 1] if end >= 0 else ""


def shared_ends(texts: Sequence[str]) -> Ends:
    """The opening and ending every text shares, cut at word boundaries (empty when not worth it)."""
    if len(texts) < 2:
        return Ends()
    prefix = _word_cut(_common_prefix(texts), texts)
    rest = [t[len(prefix):] for t in texts]
    reversed_suffix = _common_prefix([t[::-1] for t in rest])
    suffix = _word_cut(reversed_suffix, [t[::-1] for t in rest])[::-1]
    if len(prefix) + len(suffix) < MIN_SHARED:
        return Ends()
    return Ends(prefix, suffix)
