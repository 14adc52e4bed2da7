"""Textbook notation: the token stage between the user's text and Python's ``ast.parse``.

People type ``ln x``, ``sin^2 x``, ``|x| + 1``, ``x²`` and ``√(x+1)``; gradcli's language is
``log(x)``, ``sin(x)**2``, ``abs(x) + 1``, ``x**2`` and ``sqrt(x + 1)``. This module reads the first
into the second before anything is parsed:

- :func:`normalize` maps the Unicode that comes from PDFs and web pages (superscripts, ``√``, ``π``,
  ``·``, ``×``, ``÷``, the minus sign U+2212, non-breaking and thin spaces) to ASCII, keeping for
  every character the column it came from, and refuses fullwidth letters (``ｅｘｐ``) by name.
- :func:`group` takes tokens (from Python's tokenizer, or from :mod:`gradcli.lang.latex`) and makes every
  reading explicit: alias names (``ln``, ``arcsin``, ``sgn``, ``E``), log bases (``log_2``), bars
  (``|x|``), function powers (``sin^2``, ``sin^-1``), application without parentheses
  (``sin 2x``, and glued: ``sinx``, ``sin2x``) and multiplication by juxtaposition (``2x``,
  ``x sin x``, ``x e^x``, ``(x+1)(x-1)``).

The output is still tokens; :mod:`gradcli.lang.parser` joins them and hands them to the same safe parser, so
every limit and every allow-list applies to all notations alike. Readings that often surprise
(``1/2x``, ``sin x^2``) are returned as notes.

A bare argument (a function name not followed by ``(``) is one term: an optional sign, then a
factor, then more factors joined by juxtaposition where gradcli multiplies by juxtaposition (after
a number: ``2x``, ``2(x+1)``; after a closing parenthesis), each factor with its powers
(``x^2``). It ends at any operator (``+ - * /``), a comma, a closing parenthesis, or another
function name: ``sin 2x + 1`` is ``sin(2*x) + 1``, ``sin x cos x`` is ``sin(x)*cos(x)``, and
``sin x^2`` is ``sin(x**2)``. A function name at the start of a bare argument applies in turn:
``ln sin x`` is ``log(sin(x))``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace

from gradcli.errors import LimitError, ParseError
from gradcli.lang import functions
from gradcli.lang.tokens import NAME, NUMBER, OP, Tok

# the names people type for gradcli's functions and constants; f^-1 is the inverse function, as in textbooks
ALIASES = {**functions.ALIASES, "E": "e"}
INVERSES = functions.INVERSES
_LOG_BASE = re.compile(r"^log_([0-9]+|[A-Za-z][A-Za-z0-9]*)$")
_NAMED_LOGS = {"2": "log2", "10": "log10", "e": "log"}

_SUPERSCRIPT = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁽⁾ⁿˣʸ", "0123456789+-()nxy", strict=True))
_REPLACEMENTS = {
    "π": " pi ", "·": "*", "⋅": "*", "∙": "*", "×": "*", "∗": "*", "÷": "/", "∕": "/",
    "−": "-", "–": "-", "√": " sqrt ", "∛": " cbrt ", "ℯ": "e", "\u200b": "", "\ufeff": "",
}  # fmt: skip
_GREEK = {  # variables named as in LaTeX (λ is not here: lambda is a reserved word)
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta", "η": "eta",
    "θ": "theta", "ι": "iota", "κ": "kappa", "μ": "mu", "ν": "nu", "ξ": "xi", "ρ": "rho", "σ": "sigma",
    "τ": "tau", "υ": "upsilon", "φ": "phi", "ϕ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega",
}  # fmt: skip
_SPACES = frozenset("\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000")


@dataclass(frozen=True)
class Note:
    """How a piece of the user's text was read, where the reading could surprise: a kind, the text as
    typed, and what gradcli read it as. `message` is the English shown on stderr."""

    kind: str
    typed: str
    read: str
    message: str

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict:
        return {"kind": self.kind, "typed": self.typed, "read": self.read, "message": self.message}


# the kinds of reading notes (docs/json.md)
GLUED_FUNCTION, GLUED_LETTERS, WHOLE_NAME, POWER_ARGUMENT, JUXTAPOSITION, NATURAL_LOG, DERIVATIVE, WRAPPER = (
    "glued_function", "glued_letters", "whole_name", "power_argument", "juxtaposition", "natural_log",
    "derivative", "wrapper",
)  # fmt: skip
REAL_ROOT = "real_root"  # x^(1/3) is the real cube root for x < 0


@dataclass
class Reading:
    tokens: list[Tok]
    notes: list[Note]


# ---------------------------------------------------------------- characters


def normalize(text: str) -> tuple[str, list[int]]:
    """ASCII text and, for each of its characters (and its end), the column in `text` it came from."""
    pieces: list[str] = []
    columns: list[int] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char in _SUPERSCRIPT:
            start = i
            while i < len(text) and text[i] in _SUPERSCRIPT:
                i += 1
            run = "^(" + "".join(_SUPERSCRIPT[c] for c in text[start:i]) + ")"
            pieces.append(run)
            columns.extend([start] * len(run))
            continue
        if "\uff01" <= char <= "\uff5e":
            raise ParseError(
                f"'{char}' is a fullwidth character, not plain ASCII",
                i,
                f"type it as '{unicodedata.normalize('NFKC', char)}' (the whole expression: "
                f"{unicodedata.normalize('NFKC', text)})",
            )
        out = " " if char in _SPACES else _REPLACEMENTS.get(char, f" {_GREEK[char]} " if char in _GREEK else char)
        pieces.append(out)
        columns.extend([i] * len(out))
        i += 1
    columns.append(len(text))
    return "".join(pieces), columns


# ---------------------------------------------------------------- tokens


def canonical(name: str) -> str:
    return ALIASES.get(name, name)


def group(
    tokens: list[Tok],
    functions: dict[str, tuple[int, ...]],
    max_depth: int,
    variables: frozenset[str] | None = None,
    customs: frozenset[str] = frozenset(),
    source: str | None = None,
) -> Reading:
    """Tokens with every reading explicit: aliases resolved, bars, powers and applications parenthesized.

    `variables` are the names the problem declares (--at, --wrt, a check's problem); None: only the
    text says which names are variables. `customs` are --custom functions, which stay calls."""
    _refuse_operator(tokens)
    functions = {**functions, **dict.fromkeys(customs, (1,))}
    tokens, notes = _split_glued(tokens, functions, source)
    tokens, letter_notes = _split_letters(tokens, functions, variables, source)
    grouper = _Grouper(tokens, functions, max_depth, frozenset(customs), variables or frozenset(), source)
    out = grouper.sequence(None)
    return Reading(out, notes + letter_notes + grouper.notes)


def _typed(source: str | None, start: int, end: int, fallback: str) -> str:
    """The user's own text between two columns (x^2 y keeps its space), or `fallback` without it."""
    if source is None or not 0 <= start < end <= len(source):
        return fallback
    return source[start:end].strip() or fallback


def _refuse_operator(tokens: list[Tok]) -> None:
    """d/dx x^2 would be read as d/(d*x)*x^2: say what it is instead."""
    for a, slash, b in zip(tokens, tokens[1:], tokens[2:], strict=False):
        if a.text == "d" and slash.text == "/" and b.kind == NAME and re.fullmatch("d[A-Za-z]", b.text):
            raise ParseError(
                f"'d/{b.text}' is the derivative operator, not part of the function",
                a.col,
                "gradcli differentiates it: give only the function",
            )


_NOT_GLUED = {"E", *functions.NOT_GLUED}


def _split_glued(tokens: list[Tok], functions, source: str | None = None) -> tuple[list[Tok], list[Note]]:
    """sinx, sin2x, lnx, cos3t: a function name glued to a one-letter argument (with an optional number
    before it) is read as the function applied to it, with a note; longer names (cost, signal) stay names."""
    names = sorted({*functions, *ALIASES} - _NOT_GLUED, key=len, reverse=True)
    pattern = re.compile(rf"^({'|'.join(names)})([0-9]+(?:\.[0-9]+)?)?([A-Za-z])$")
    out, notes = [], []
    for tok in tokens:
        match = pattern.match(tok.text) if tok.kind == NAME and canonical(tok.text) not in functions else None
        if match is None:
            out.append(tok)
            continue
        function, number, letter = match.groups()
        out.append(Tok(NAME, function, tok.col))
        if number:
            out.append(Tok(NUMBER, number, tok.col + len(function)))
        out.append(Tok(NAME, letter, tok.col + len(tok.text) - 1))
        read = f"{canonical(function)}({number or ''}{letter})"
        notes.append(Note(GLUED_FUNCTION, tok.text, read, f"'{tok.text}' is read as {read}"))
    return out, notes


# names that are words, never products of letters: Greek letters as variables, and gradcli's constants
_WORDS = frozenset(
    {
        "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
        "kappa", "mu", "nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "varphi", "chi", "psi", "omega", "pi",
    }
)  # fmt: skip
_LETTERS = re.compile(r"^[A-Za-z]{2,}$")


def _split_letters(tokens: list[Tok], functions, variables, source) -> tuple[list[Tok], list[Note]]:
    """2xy is 2*x*y where the problem is in single letters: a run of letters that is neither a function, a
    constant nor a declared name, whose letters are the problem's variables, is their product (with a note).

    The problem's single-letter variables are the declared ones, or else the single letters that stand
    alone in the text (y in 2xy + y^2). With declared variables every letter must be one of them (or e);
    without, one letter standing alone is enough (2xy + y^2). A run kept whole beside single letters
    (rate*x) gets a note saying it is one name."""
    declared = variables is not None
    known = {*functions, *ALIASES, *_WORDS, "e"}
    alone = {t.text for t in tokens if t.kind == NAME and len(t.text) == 1 and t.text not in known}
    singles = {v for v in variables if len(v) == 1} if declared else alone
    out, notes = [], []
    for tok in tokens:
        name = tok.text
        candidate = tok.kind == NAME and _LETTERS.match(name) and name not in known
        if not candidate or (declared and name in variables) or not singles:
            out.append(tok)
            continue
        letters = set(name)
        splits = letters <= singles | {"e"} if declared else bool(letters & singles)
        if not splits:
            if not declared and not letters & singles:
                shown = ", ".join(sorted(singles))
                message = f"'{name}' is read as one variable (beside {shown}); for a product write {'*'.join(name)}"
                notes.append(Note(WHOLE_NAME, name, name, message))
            out.append(tok)
            continue
        out.extend(Tok(NAME, letter, tok.col + i, glue=i > 0) for i, letter in enumerate(name))
        read = "*".join(name)
        typed = _typed(source, tok.col, tok.col + len(name), name)
        notes.append(Note(GLUED_LETTERS, typed, read, f"'{typed}' is read as {read}"))
    return out, notes


_STARTS = (NAME, NUMBER)
_CONSTANTS = ("pi", "e")


class _Grouper:
    def __init__(
        self,
        tokens: list[Tok],
        functions: dict[str, tuple[int, ...]],
        max_depth: int,
        customs: frozenset[str] = frozenset(),
        variables: frozenset[str] = frozenset(),
        source: str | None = None,
    ):
        self.tokens = tokens
        self.functions = functions
        self.customs = customs
        self.variables = variables
        self.source = source
        self.max_depth = max_depth
        self.said_log = False
        self.i = 0
        self.depth = 0
        self.prev: Tok | None = None  # the last token emitted, in output order
        self.notes: list[Note] = []
        self.bars_after = [0] * (len(tokens) + 1)  # bars after each position, to judge a bar's reading
        for k in range(len(tokens) - 1, -1, -1):
            self.bars_after[k] = self.bars_after[k + 1] + (tokens[k].text == "|" and tokens[k].kind == OP)
        self.open_bars = 0
        self.closed = True  # whether the last parenthesized group found its closing bracket

    # ------------------------------------------------ helpers

    def peek(self, ahead: int = 0) -> Tok | None:
        k = self.i + ahead
        return self.tokens[k] if k < len(self.tokens) else None

    def is_op(self, tok: Tok | None, *texts: str) -> bool:
        return tok is not None and tok.kind == OP and tok.text in texts

    def is_function(self, tok: Tok | None) -> bool:
        if tok is None or tok.kind != NAME:
            return False
        name = canonical(tok.text)
        return name in self.functions or _LOG_BASE.match(tok.text) is not None

    def enter(self, tok: Tok) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise LimitError(f"expression is nested too deeply; the limit is {self.max_depth} levels", tok.col)

    def ends_operand(self) -> bool:
        prev = self.prev
        return prev is not None and (prev.kind in _STARTS or (prev.kind == OP and prev.text in (")", "]")))

    def juxtaposed(self, tok: Tok) -> bool:
        """Whether `tok`, right after the previous token, multiplies it (2x, (x+1)(x-1), x sin x, 2|x|)."""
        prev = self.prev
        if prev is None or not self.ends_operand():
            return False
        if tok.glue:
            return True
        starts_function = self.is_function(tok)
        starts_bar = self.is_op(tok, "|")
        if prev.kind == NUMBER or (prev.kind == NAME and prev.text in _CONSTANTS):  # 2x, 2πx, pi r^2, 3[x-1]
            return tok.kind == NAME or self.is_op(tok, "(", "[") or starts_bar
        if prev.kind == OP:  # ) or ]
            return tok.kind in _STARTS or self.is_op(tok, "(", "[") or starts_bar
        constant = tok.kind == NAME and canonical(tok.text) in _CONSTANTS
        bracket = self.is_op(tok, "(") and self.is_variable(
            prev
        )  # x(x-1), x (x+1): a variable is no function; x[0] indexes
        return starts_function or starts_bar or constant or bracket  # x sin x, x|y|, x e^x; not x y

    def is_variable(self, tok: Tok) -> bool:
        """A name that is a variable, never a function: one letter, a Greek name, a declared variable.
        Other unknown names before '(' stay calls of an unknown function (a typo of a function's name)."""
        if tok.kind != NAME or tok.text in self.functions or tok.text in self.customs:
            return False
        return len(tok.text) == 1 or tok.text in _WORDS or tok.text in self.variables

    def emit(self, out: list[Tok], tokens: list[Tok]) -> None:
        out.extend(tokens)
        if tokens:
            self.prev = tokens[-1]

    def bar_closes(self) -> bool:
        """A bar right after an operand closes the innermost open bar, unless it could also open one."""
        if not self.ends_operand():
            return False
        bar, after = self.peek(), self.peek(1)
        operand_follows = after is not None and (after.kind in _STARTS or self.is_op(after, "("))
        if operand_follows and self.bars_after[self.i + 1] >= self.open_bars + 1:
            raise ParseError(
                "the bars '|' here can be read two ways",
                bar.col,
                "write the absolute values with abs(), e.g. abs(x)*y*abs(z) or abs(x*abs(y)*z)",
            )
        return True

    # ------------------------------------------------ structure

    def sequence(self, closer: str | None) -> list[Tok]:
        """Tokens up to (not including) `closer` at this level, or to the end."""
        out: list[Tok] = []
        while (tok := self.peek()) is not None:
            if self.is_op(tok, ")", "]") and closer is not None:
                return out
            if self.is_op(tok, ",") and closer == "|":
                return out
            if self.is_op(tok, "|") and closer == "|" and self.bar_closes():
                return out
            if self.juxtaposed(tok):
                self.emit(out, [Tok(OP, "*", tok.col)])
            if self.is_op(tok, "^", "**") and self.signed_term(1):
                self.i += 1
                signs = []
                while self.is_op(self.peek(), "-", "+"):
                    signs.append(self.peek())
                    self.i += 1
                self.emit(out, [tok, *self.signed_exponent(signs)])
                continue
            self.emit(out, self.item())
        return out

    def item(self) -> list[Tok]:
        tok = self.peek()
        if self.is_op(tok, "(", "["):
            return self.parenthesized(element=self.i == 0 or self.is_op(self.tokens[self.i - 1], "[", ","))
        # an item of a list is a bracket that stands alone between '[' or ',' and ']' or ','; [y-1]^2 is a base
        if self.is_op(tok, "|"):
            return self.bars()
        if self.is_function(tok):
            return self.application()
        self.i += 1
        if tok.kind == NAME:
            return [replace(tok, text=canonical(tok.text))]
        return [tok]

    def parenthesized(self, element: bool = False) -> list[Tok]:
        """(...) or [...]; a square bracket holding one expression is a parenthesis (3[x-1]^2, ln[x^2+1]),
        except where it may be a list: the whole text, or an item of a list. Lists keep their commas."""
        opener = self.peek()
        indexing = self.prev is not None and self.prev.kind == NAME and not self.is_function(self.prev)  # x[0]
        self.i += 1
        self.enter(opener)
        self.prev = opener
        inner = self.sequence(")" if opener.text == "(" else "]")
        self.depth -= 1
        closer = self.peek()
        if closer is None or closer.text != (")" if opener.text == "(" else "]"):
            self.closed = False
            return [opener, *inner]  # unbalanced: the parser reports it with its column
        self.i += 1
        self.closed = True
        element = element and (self.peek() is None or self.is_op(self.peek(), "]", ","))
        if opener.text == "[" and not element and not indexing and not _has_comma(inner):
            opener, closer = replace(opener, text="("), replace(closer, text=")")
        self.prev = closer
        return [opener, *inner, closer]

    def bars(self) -> list[Tok]:
        bar = self.peek()
        self.i += 1
        self.enter(bar)
        self.open_bars += 1
        opener = Tok(OP, "(", bar.col)
        self.prev = opener
        inner = self.sequence("|")
        closer = self.peek()
        if not self.is_op(closer, "|"):
            raise ParseError("this '|' is not closed", bar.col, "write the absolute value as abs(...)")
        self.i += 1
        self.open_bars -= 1
        self.depth -= 1
        out = [Tok(NAME, "abs", bar.col), opener, *inner, Tok(OP, ")", closer.col)]
        self.prev = out[-1]
        return out

    def application(self) -> list[Tok]:
        """A function name and what it applies to: sin(x), sin x, sin^2 x, sin^-1(x), log_2 x."""
        tok = self.peek()
        self.i += 1
        self.enter(tok)
        name, base = self.function_name(tok)
        power = self.function_power(tok, name) if self.is_op(self.peek(), "^", "**") else None
        if power is not None and _value(power) == -1:
            if name not in INVERSES:
                raise ParseError(
                    f"'{tok.text}^-1' has no inverse function in gradcli",
                    tok.col,
                    f"write 1/{name}(...) for the reciprocal",
                )
            name, power = INVERSES[name], None
        head = Tok(NAME, name, tok.col)
        opener = Tok(OP, "(", tok.col)
        self.prev = opener
        if self.is_op(self.peek(), "(", "["):
            group = self.parenthesized()
            if not self.closed:  # unbalanced: the parser reports it
                self.depth -= 1
                return [head, *group]
            inner, close_col = group[1:-1], group[-1].col
        else:
            inner = self.bare(tok, name)
            close_col = inner[-1].col
        if name == "log" and base is None and tok.text == "log" and not self.said_log and not _has_comma(inner):
            self.said_log = True
            message = "'log' is read as the natural log ln; for base 10 write log10(x) or lg x"
            self.notes.append(Note(NATURAL_LOG, "log", "ln", message))
        if base is not None:
            inner = [*inner, Tok(OP, ",", close_col), *base]
        call = [head, opener, *inner, Tok(OP, ")", close_col)]
        if power is not None:
            call = [Tok(OP, "(", tok.col), *call, Tok(OP, ")", close_col), Tok(OP, "**", tok.col), *power]
        self.depth -= 1
        self.prev = call[-1]
        return call

    def function_name(self, tok: Tok) -> tuple[str, list[Tok] | None]:
        """The function's canonical name and, for log_b, the base as tokens."""
        match = _LOG_BASE.match(tok.text) if canonical(tok.text) not in self.functions else None  # not log_softmax
        if match:
            suffix = match.group(1)
            if suffix in _NAMED_LOGS:
                return _NAMED_LOGS[suffix], None
            return "log", [Tok(NUMBER if suffix[0].isdigit() else NAME, suffix, tok.col + 4)]
        name = canonical(tok.text)
        if name == "log" and self.is_op(self.peek(), "_"):  # LaTeX: \log_{b}
            self.i += 1
            base_tok = self.peek()
            if base_tok is None:
                raise ParseError("'log_' needs a base, as in log_2(x)", tok.col)
            saved = self.prev
            self.prev = None
            base = self.factor(power=False)
            self.prev = saved
            if len(base) == 3 and base[0].text == "(":  # \log_{2}: the braces are not part of the base
                base = base[1:2]
            if len(base) == 1 and base[0].text in _NAMED_LOGS:
                return _NAMED_LOGS[base[0].text], None
            return "log", base
        return name, None

    def function_power(self, tok: Tok, name: str) -> list[Tok]:
        """sin^2, sin^(2), sin^-1, sin^(-1): the number after the function name, as tokens."""
        self.i += 1
        parts: list[Tok] = []
        wrapped = self.is_op(self.peek(), "(")
        if wrapped:
            parts.append(self.peek())
            self.i += 1
        if self.is_op(self.peek(), "-", "+"):
            parts.append(self.peek())
            self.i += 1
        number = self.peek()
        if number is None or number.kind != NUMBER:
            raise ParseError(
                f"after '{tok.text}^' gradcli expects a number, as in {tok.text}^2(x) or {tok.text}^-1(x)",
                tok.col,
                f"for a power of the result write {name}(x)^(...)",
            )
        parts.append(number)
        self.i += 1
        if wrapped:
            if not self.is_op(self.peek(), ")"):
                raise ParseError(f"'{tok.text}^(' expects a number and ')', as in {tok.text}^(-1)(x)", tok.col)
            parts.append(self.peek())
            self.i += 1
        if parts[0].text == "+":
            parts = parts[1:]
        return parts

    def bare(self, tok: Tok, name: str) -> list[Tok]:
        """The argument of a function written without parentheses: one term (see the module docstring)."""
        if max(self.functions.get(name, (1,))) > 1 and name != "log":
            raise ParseError(f"{name}() takes its arguments in parentheses, as in {name}(x, y)", tok.col)
        out: list[Tok] = []
        nxt, after = self.peek(), self.peek(1)
        if self.is_op(nxt, "-", "+") and after is not None and after.col == nxt.col + 1:  # sin -x, not sin - x
            self.emit(out, [nxt])
            self.i += 1
            nxt = self.peek()
        starts = nxt is not None and (nxt.kind in _STARTS or self.is_op(nxt, "(", "|"))
        if not starts:
            raise ParseError(f"'{tok.text}' is a function; call it like {canonical(tok.text)}(x)", tok.col)
        if self.is_function(nxt):
            self.emit(out, self.application())
            return out
        start = len(out)
        self.emit(out, self.factor())
        while (nxt := self.peek()) is not None and not self.is_function(nxt) and self.continues(nxt):
            self.emit(out, [Tok(OP, "*", nxt.col)])
            self.emit(out, self.factor())
        if any(t.text in ("^", "**") for t in out[start:]):
            shown = _join(out)
            typed = _typed(self.source, tok.col, self.end_col(), f"{tok.text} {shown}")
            message = f"'{typed}' is read as {name}({shown}); for a power of {name} write {name}(...)^n"
            self.notes.append(Note(POWER_ARGUMENT, typed, f"{name}({shown})", message))
        return out

    def end_col(self) -> int:
        """The column just after the last token taken."""
        last = self.tokens[self.i - 1]
        return last.col + len(last.text)

    def continues(self, tok: Tok) -> bool:
        """Inside a bare argument: juxtaposition that stays in the term (2x, 2(x+1)), not a new bar."""
        return self.juxtaposed(tok) and not self.is_op(tok, "|")

    def factor(self, power: bool = True) -> list[Tok]:
        """One atom (number, name, (...), |...|, or a function application) with its powers."""
        tok = self.peek()
        if self.is_op(tok, "(", "["):
            out = self.parenthesized()
        elif self.is_op(tok, "|"):
            out = self.bars()
        elif self.is_function(tok):
            out = self.application()
        elif tok is not None and tok.kind in _STARTS:
            self.i += 1
            out = [replace(tok, text=canonical(tok.text)) if tok.kind == NAME else tok]
            self.prev = out[-1]
        else:
            shown = "the end" if tok is None else f"'{tok.text}'"
            col = self.tokens[-1].col if tok is None else tok.col
            raise ParseError(f"expected a number, a name or '(' here, not {shown}", col)
        while power and self.is_op(self.peek(), "^", "**"):
            out.append(self.peek())
            self.i += 1
            signs = []
            while self.is_op(self.peek(), "-", "+"):
                signs.append(self.peek())
                self.i += 1
            self.prev = None
            if signs and self.signed_term(0):
                out.extend(self.signed_exponent(signs))
                continue
            out.extend(signs)
            out.extend(self.factor(power=False))
        self.prev = out[-1]
        return out

    def signed_term(self, ahead: int) -> bool:
        """A sign, then a number with a name written against it (e^-2x), `ahead` tokens on: every
        textbook and calculator reads that exponent as -2x."""
        k = ahead
        while self.is_op(self.peek(k), "-", "+"):
            k += 1
        number, name = self.peek(k), self.peek(k + 1)
        return (
            k > ahead
            and number is not None
            and number.kind == NUMBER
            and name is not None
            and name.kind == NAME
            and name.col == number.col + len(number.text)
            and not self.is_function(name)
            and not self.is_op(self.peek(k + 2), "^", "**", "(", "[")
        )

    def signed_exponent(self, signs: list[Tok]) -> list[Tok]:
        number, name = self.peek(), self.peek(1)
        self.i += 2
        out = [
            Tok(OP, "(", signs[0].col),
            *signs,
            number,
            Tok(OP, "*", name.col),
            replace(name, text=canonical(name.text)),
        ]
        while (glued := self.peek()) is not None and glued.glue and glued.kind == NAME and not self.is_function(glued):
            out += [Tok(OP, "*", glued.col), glued]  # e^-2xy, the letters split above
            self.i += 1
        return [*out, Tok(OP, ")", out[-1].col)]


def _has_comma(tokens: list[Tok]) -> bool:
    depth = 0
    for tok in tokens:
        if tok.kind == OP and tok.text in "([":
            depth += 1
        elif tok.kind == OP and tok.text in ")]":
            depth -= 1
        elif tok.kind == OP and tok.text == "," and depth == 0:
            return True
    return False


def _value(tokens: list[Tok]) -> float:
    sign = -1.0 if any(t.text == "-" for t in tokens) else 1.0
    return sign * float(next(t.text for t in tokens if t.kind == NUMBER))


def _join(tokens: list[Tok]) -> str:
    return "".join(t.text for t in tokens)


def juxtaposition_notes(tokens: list[Tok], source: str | None = None) -> list[Note]:
    """1/2x is (1/2)*x and e^2x is (e^2)*x: a note where '/' or '^' is followed by a number that multiplies
    by juxtaposition (the '*' gradcli put in has the column of the factor after it)."""
    notes = []
    for k in range(1, len(tokens) - 3):
        left, op, number, times, factor = tokens[k - 1 : k + 4]
        after = tokens[k + 4].text if k + 4 < len(tokens) else ""
        implicit = times.text == "*" and times.col == factor.col and factor.col > number.col
        # e^2x, but not (x+1)^2(x-1) or x^2e^x, where nobody means the exponent to go on
        plain_factor = factor.kind == NAME and after not in ("^", "**", "(")
        if op.text in ("^", "**") and not plain_factor:
            continue
        if op.text in ("/", "^", "**") and number.kind == NUMBER and implicit and factor.text not in (")", "|"):
            a = left.text if left.kind in (NAME, NUMBER) else "..."
            o = "^" if op.text == "**" else op.text
            b = number.text
            c = "(...)" if factor.text == "(" else factor.text + ("(...)" if after == "(" else "")
            typed = f"{a}{o}{b}{c}"
            if left.kind in (NAME, NUMBER) and c == factor.text:
                typed = _typed(source, left.col, factor.col + len(factor.text), typed)
            message = f"'{typed}' is read as ({a}{o}{b})*{c}; for {a}{o}({b}{c}) write {a}{o}({b}*{c})"
            notes.append(Note(JUXTAPOSITION, typed, f"({a}{o}{b})*{c}", message))
    return notes
