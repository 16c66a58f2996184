"""Text from Azure and from the registry made safe to show: no terminal control, no hidden direction.

A role name, a tenant name or a file name is data, never an instruction to the terminal. Control
characters (C0, DEL, C1, so ESC and therefore every CSI/OSC sequence), bidirectional overrides and
line/paragraph separators are replaced by a visible escape (`\\x1b`, `\\u202e`), so the text stays
readable, one message stays one line, and nothing is silently lost.
"""

from __future__ import annotations

import re

# C0 and DEL and C1; bidi embeddings/overrides/isolates and marks; line and paragraph separators.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\u061c]")
_UNSAFE_KEEP_LINES = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
                                "\u2028\u2029\u061c]")
# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@")   # tab and CR are escaped before this check


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def one_line(text: str) -> str:
    """`text` with every control or direction character escaped, newlines included: one line."""
    return _UNSAFE.sub(_escape, text)


def multi_line(text: str) -> str:
    """Like one_line, but keeps `\\n` (a finding's detail may hold several lines of our own)."""
    return _UNSAFE_KEEP_LINES.sub(_escape, text)


def csv_cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: escaped like one_line, and a leading =, +, -, @
    gets a `'` in front so Excel or Sheets never evaluate it as a formula."""
    cleaned = multi_line(text)
    return "'" + cleaned if cleaned.startswith(_FORMULA_START) else cleaned
