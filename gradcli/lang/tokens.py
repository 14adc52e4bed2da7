"""Tokens: what every reader (typed text, textbook notation, LaTeX) hands to the parser."""

from __future__ import annotations

from dataclasses import dataclass

NAME, NUMBER, OP = "name", "number", "op"


@dataclass(frozen=True)
class Tok:
    kind: str  # NAME, NUMBER or OP
    text: str
    col: int  # column in the user's text
    glue: bool = False  # LaTeX: a letter written right after another (xy is x*y there)
