"""Shared pieces of the spec models: the strict base class, scalar types, patterns."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["ColumnType", "Scalar", "NAME_PATTERN", "SHA256_PATTERN"]

ColumnType = Literal["int64", "float64", "string", "bool", "category", "date", "timestamp"]
Scalar = str | int | float | bool
NAME_PATTERN = r"^[a-z0-9][a-z0-9_\-]{0,63}$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"


class _Strict(BaseModel):
    """Base of every spec section: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
