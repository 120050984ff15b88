"""Who a Git email is: the one rule that maps an address to a person, used by history, audit and writes.

Two addresses are the same when they are equal after trimming ASCII whitespace at both ends and
lowering the ASCII letters A-Z. Nothing fuzzier: no Unicode case folding or normalisation, no
name matching, no mailmap. So `Ana@Example.COM ` is `ana@example.com`, but a look-alike (Cyrillic
'а', the Kelvin sign 'K', fullwidth '＠', 'ß' for 'ss', a zero-width space) is another address,
and a commit made with it has an unknown author.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Iterable

# Only ASCII whitespace is trimmed: a no-break space or an ideographic space is part of the address.
_ASCII_SPACE = " \t\n\r\x0b\x0c"
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
# Control, format (zero-width, direction overrides), separator and unassigned or private-use characters.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})


def normalize_email(email: str) -> str:
    """The form in which author emails and people's `emails` are compared (see the module docstring)."""
    return email.strip(_ASCII_SPACE).translate(_ASCII_LOWER)


def same_email(first: str, second: str) -> bool:
    """Whether two addresses name the same Git identity under the rule."""
    return normalize_email(first) == normalize_email(second)


def owner_of(email: str, people: Iterable[tuple[str, Iterable[str]]]) -> str | None:
    """The id of the first person (id, emails) one of whose emails is `email` under the rule, or None."""
    wanted = normalize_email(email)
    for ident, emails in people:
        if any(normalize_email(address) == wanted for address in emails):
            return ident
    return None


def invisible_characters(email: str) -> list[str]:
    """`U+XXXX` of each character of `email` that cannot be seen or typed plainly (spaces, controls, format)."""
    found: list[str] = []
    for char in email:
        if unicodedata.category(char) in _INVISIBLE_CATEGORIES:
            code = f"U+{ord(char):04X}"
            if code not in found:
                found.append(code)
    return found
