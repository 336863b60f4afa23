"""The base of every policy model: strict (unknown keys are errors) and frozen, and labels."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Label(Strict):
    zh: str | None = None
    en: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: object) -> object:
        return {"zh": value, "en": value} if isinstance(value, str) else value

    def text(self, lang: str, fallback: str) -> str:
        return (self.zh if lang == "zh" else self.en) or self.en or self.zh or fallback
