"""E-mail addresses: what a file may give as a customer's address, and what a mailer may send to.

Pure (standard library only), so that ingest and the mailers share one rule:
- `address_problem` is the ingest check: one plausible addr-spec a mailer can deliver (an ASCII
  dot-atom local part of at most 64 characters, `@`, a domain of letters, digits and hyphens with a
  top-level label; at most 254 characters; no display name, no second address, no control
  character). A file's address that fails it quarantines its row.
- `recipient_problem` is the mailers' last guard, whatever the ledger holds (an older ledger may
  carry an address loaded before the ingest check): one address that parses as an addr-spec, no
  line break or other control character, so that no header can ever be added through it.
- `header_problem` is the same guard for any other header value (a subject, a reference).
"""

from __future__ import annotations

import re
from email.errors import HeaderParseError
from email.headerregistry import Address

MAX_ADDRESS_LENGTH = 254  # RFC 5321: a path is at most 256 octets, angle brackets included
MAX_LOCAL_PART_LENGTH = 64  # RFC 5321

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TOP_LABEL = r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})"
_ADDR_SPEC = re.compile(rf"(?P<local>{_ATEXT}(?:\.{_ATEXT})*)@(?P<domain>(?:{_LABEL}\.)+{_TOP_LABEL})")
# C0 controls (line breaks and tab among them), DEL, C1 controls, and the Unicode line separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def address_problem(text: str) -> str | None:
    """Why `text` is not one plausible e-mail address (a phrase to follow the value), or None."""
    if _CONTROL.search(text):
        return "holds a line break or another control character: give one address, nothing else"
    if len(text) > MAX_ADDRESS_LENGTH:
        return f"is longer than the {MAX_ADDRESS_LENGTH} characters an e-mail address may have"
    if text.count("@") > 1 and re.search(r"[,;\s]", text):
        return "holds more than one address: give one"
    if "<" in text or ">" in text:
        return "is not a bare address: give it as ap@example.com, without a name or <>"
    if not text.isascii():
        return "is not an ASCII address (write an international domain in its xn-- form)"
    found = _ADDR_SPEC.fullmatch(text)
    if found is None:
        return "is not an e-mail address such as ap@example.com"
    if len(found["local"]) > MAX_LOCAL_PART_LENGTH:
        return f"has more than {MAX_LOCAL_PART_LENGTH} characters before the @"
    return None


def header_problem(value: object) -> str | None:
    """Why `value` cannot be a header's value (it would add a header or break the message), or None."""
    found = _CONTROL.search(str(value))
    if found:
        return f"holds control character U+{ord(found.group()):04X} (a header is one line)"
    return None


def recipient_problem(text: str) -> str | None:
    """Why a mailer must not send to `text`, or None: one ASCII addr-spec, nothing around it."""
    problem = header_problem(text)
    if problem:
        return problem
    if not text.isascii():
        return "is not an ASCII address"
    try:
        address = Address(addr_spec=text)
    except (ValueError, IndexError, HeaderParseError) as exc:  # a second address, a name, no @
        return f"is not one e-mail address ({str(exc).splitlines()[0][:80]})"
    if not address.username or not address.domain:
        return "is not one e-mail address (it needs a local part, @ and a domain)"
    return None
