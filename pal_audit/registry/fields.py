"""Field types of the registry document: GUIDs, partner ids, environment variable names, dates."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, StringConstraints
from pydantic_core import PydanticCustomError

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_IDENTITY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_PARTNER_ID = re.compile(r"^[0-9]{4,10}$")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _guid(value: object) -> str:
    if not isinstance(value, str) or not _GUID.fullmatch(value.strip()):
        raise PydanticCustomError("guid", "not a GUID (expected 8-4-4-4-12 hex digits, "
                                  "e.g. 22222222-2222-2222-2222-222222222222)")
    return value.strip().lower()   # ARM returns lower case; compare and store one form


def _no_number(value: object) -> object:
    # YAML reads unquoted 0123456 as a number and drops the leading zero: insist on quotes.
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise PydanticCustomError("quoted", 'must be a quoted string, e.g. "1234567" (YAML reads unquoted '
                                  "digits as a number and may drop leading zeros)")
    return value


def _partner_id(value: str) -> str:
    if not _PARTNER_ID.fullmatch(value):
        raise PydanticCustomError("partner_id", 'must be 4 to 10 digits, e.g. "1234567"')
    return value


def _env_name(value: str) -> str:
    # Never echo the value: a secret pasted here by mistake must not reach a log.
    if not _ENV_NAME.fullmatch(value):
        raise PydanticCustomError("env_name", "must be the NAME of an environment variable (letters, "
                                  "digits, underscore), never the secret itself")
    return value


def _iso_date(value: object) -> date:
    if isinstance(value, datetime):
        raise PydanticCustomError("date", "expected a date YYYY-MM-DD, not a date and time")
    if isinstance(value, date):
        return value
    # date.fromisoformat also takes 20990331 and 2099-W13-3: only the one form people read alike.
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise PydanticCustomError("date", "expected a date YYYY-MM-DD")


Guid = Annotated[str, BeforeValidator(_guid)]
PartnerId = Annotated[str, BeforeValidator(_no_number), AfterValidator(_partner_id)]
EnvName = Annotated[str, AfterValidator(_env_name)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
IdentityName = Annotated[str, StringConstraints(pattern=_IDENTITY_NAME.pattern)]
