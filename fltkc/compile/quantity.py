"""Kubernetes resource quantities: parse, compare and print in the API server's canonical form."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, InvalidOperation, localcontext
from typing import Literal

Format = Literal["BinarySI", "DecimalSI", "DecimalExponent"]

_PATTERN = re.compile(
    r"^\+?(?P<num>[0-9]+(\.[0-9]*)?|\.[0-9]+)"
    r"(?P<suffix>[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$"
)
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {exp: suffix for suffix, exp in _DECIMAL.items()}
_BINARY_SUFFIX = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
_NANO = Decimal("1e-9")
# Kubernetes keeps a quantity as an int64 scaled value where it can; 2^63 bytes is 8Ei, more
# than any node has, and keeps Decimal's 60 digits (nano precision) from overflowing.
LIMIT = Decimal(2**63)
OUT_OF_RANGE = "out of range; a Kubernetes quantity must be below 8Ei (2^63)"


@dataclass(frozen=True)
class Quantity:
    """An exact quantity and the format Kubernetes keeps for it."""

    value: Decimal
    format: Format

    def __str__(self) -> str:
        return canonical(self)


def parse(text: str | int | float) -> Quantity:
    """Parse a quantity such as `500m`, `2Gi`, `1e3` or a bare number; ValueError if malformed."""
    match = _PATTERN.match(str(text))
    if match is None or isinstance(text, bool):
        raise ValueError(f"{text!r} is not a Kubernetes quantity")
    suffix = match["suffix"] or ""
    number = Decimal(match["num"])
    with localcontext() as ctx:
        ctx.prec = 60
        try:
            if suffix in _BINARY:
                value, fmt = number * (2 ** _BINARY[suffix]), "BinarySI"
            elif suffix in _DECIMAL:
                value, fmt = number.scaleb(_DECIMAL[suffix]), "DecimalSI"
            elif len(suffix.lstrip("eE+-")) <= 4:
                value, fmt = number.scaleb(int(suffix[1:])), "DecimalExponent"
            else:
                raise InvalidOperation
            if value >= LIMIT:
                raise InvalidOperation
            # The API server keeps nano precision and rounds anything finer up.
            value = value.quantize(_NANO, rounding=ROUND_CEILING).normalize()
        except InvalidOperation:  # also an exponent past Decimal's range (1e999999999)
            raise ValueError(f"{text} is {OUT_OF_RANGE}") from None
    return Quantity(value, fmt)  # type: ignore[arg-type]


def canonical(q: Quantity) -> str:
    """The string `kubectl get -o yaml` would show (k8s.io/apimachinery Quantity.String)."""
    if q.value == 0:
        return "0"
    fmt = q.format
    if fmt == "BinarySI" and (abs(q.value) < 1024 or q.value != q.value.to_integral_value()):
        fmt = "DecimalSI"
    if fmt == "BinarySI":
        mantissa, power = int(q.value), 0
        while mantissa % 1024 == 0 and power < len(_BINARY_SUFFIX) - 1:
            mantissa, power = mantissa // 1024, power + 1
        return f"{mantissa}{_BINARY_SUFFIX[power]}"
    sign, digits, exponent = q.value.as_tuple()
    mantissa = int("".join(map(str, digits)))
    while mantissa and mantissa % 10 == 0:
        mantissa, exponent = mantissa // 10, int(exponent) + 1
    rem = int(exponent) % 3
    mantissa, exponent = mantissa * 10**rem, int(exponent) - rem
    text = f"{'-' if sign else ''}{mantissa}"
    if fmt == "DecimalSI" and exponent in _DECIMAL_SUFFIX:
        return text + _DECIMAL_SUFFIX[exponent]
    return text if exponent == 0 else f"{text}e{exponent}"


def canonicalize(text: str | int | float) -> str:
    """`parse` then `canonical`: `1000m` -> `1`, `2048Mi` -> `2Gi`, `0.5` -> `500m`."""
    return canonical(parse(text))
