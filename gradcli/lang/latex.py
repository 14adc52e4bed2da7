"""LaTeX in and out: maths copied from Overleaf, lecture notes or Wolfram|Alpha.

:func:`tokens` translates a small, fixed subset of LaTeX into the tokens of gradcli's own language,
each with its column in the LaTeX text; :mod:`gradcli.lang.notation` and the safe parser in
:mod:`gradcli.lang.parser` then read them exactly like typed text, so every limit and allow-list still
applies. Nothing is expanded or run: there are no macros, only the commands listed here, and any
other command is an error naming its column. :func:`gradcli.lang.printers.to_latex` prints a tree as
LaTeX that :func:`tokens` reads back to the same tree.

The subset: ``\\frac \\dfrac \\tfrac \\cfrac``, ``\\sqrt{..}`` and ``\\sqrt[n]{..}``, ``^{..}``,
``_{..}`` (log bases), ``\\left( \\right)``, ``\\left| \\right|``, ``\\lvert \\rvert``, function
commands (``\\sin \\ln \\log \\exp \\sec \\arcsin \\sinh`` ...), ``\\operatorname{..}``,
``\\mathrm{..}``, ``\\cdot \\times \\div``, ``\\pi``, spacing (``\\, \\; \\: \\! \\quad``) and a one-row or
one-column ``pmatrix``/``bmatrix`` (a list, for jacobian). Letters multiply by juxtaposition
(``xy`` is ``x*y``), as they do in LaTeX; a run of letters that is a function name (``sin``) is that
function, and ``\\mathrm{xy}`` is the one variable ``xy``.
"""

from __future__ import annotations

import re

from gradcli.errors import LimitError, ParseError
from gradcli.lang.functions import LATEX_NAMES
from gradcli.lang.notation import ALIASES, normalize
from gradcli.lang.tokens import NAME, NUMBER, OP, Tok

MAX_DEPTH = 200

_FUNCTIONS = LATEX_NAMES  # LaTeX command -> gradcli function
_SYMBOLS = {
    "cdot": "*", "times": "*", "ast": "*", "div": "/", "cdotp": "*",
    "lt": "<", "gt": ">", "le": "<=", "leq": "<=", "leqslant": "<=", "ge": ">=", "geq": ">=", "geqslant": ">=",
    "ne": "!=", "neq": "!=",
}  # fmt: skip
_SPACING = frozenset(
    {
        ",", ";", ":", "!", " ", ">", "quad", "qquad", "displaystyle", "textstyle", "scriptstyle", "limits",
        "nolimits", "big", "Big", "bigg", "Bigg", "thinspace", "medspace", "thickspace", "negthinspace",
        "negmedspace", "negthickspace", "enspace", "enskip", "nobreak", "allowbreak",
    }
)  # fmt: skip
_DANGEROUS = frozenset(
    {
        "input", "include", "def", "edef", "gdef", "xdef", "let", "csname", "endcsname", "newcommand",
        "renewcommand", "providecommand", "expandafter", "write", "immediate", "openout", "openin", "read",
        "catcode", "usepackage", "documentclass", "special", "loop", "repeat", "makeatletter", "DeclareMathOperator",
    }
)  # fmt: skip
_MATRICES = frozenset({"pmatrix", "bmatrix", "matrix", "vmatrix"})
_GREEK = frozenset(
    {
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "varepsilon",
        "zeta",
        "eta",
        "theta",
        "vartheta",
        "iota",
        "kappa",
        "lambda",
        "mu",
        "nu",
        "xi",
        "rho",
        "sigma",
        "tau",
        "upsilon",
        "phi",
        "varphi",
        "chi",
        "psi",
        "omega",
        "Gamma",
        "Delta",
        "Theta",
        "Lambda",
        "Xi",
        "Sigma",
        "Phi",
        "Psi",
        "Omega",
    }
)  # fmt: skip: variables, named as in LaTeX (\theta is the variable theta)
_OPERATOR = "'d/dx' is the derivative operator, not part of the function"
_COMMAND = re.compile(r"\\([A-Za-z]+|.)")


def is_latex(text: str, latex: bool = False) -> bool:
    """LaTeX when asked for (latex=True: --from-latex), or when the text has a command or a brace, which
    gradcli never uses."""
    return latex or any(c in text for c in "\\{}")


# ---------------------------------------------------------------- reading


def tokens(text: str) -> list[Tok]:
    """gradcli tokens for LaTeX text; columns are columns in `text`."""
    ascii_text, columns = normalize(text)
    lexemes = _lex(ascii_text, columns)
    reader = _Reader(lexemes)
    out = reader.sequence(closers=())
    if reader.i < len(lexemes):
        stray = lexemes[reader.i]
        raise ParseError(f"unexpected '{stray[1]}' in the LaTeX", stray[2])
    return out


def _lex(text: str, columns: list[int]) -> list[tuple[str, str, int]]:
    """(kind, text, column): kind is 'cmd', 'letters', 'number', or 'char'."""
    out = []
    i = 0
    while i < len(text):
        char, col = text[i], columns[i]
        if char.isspace():
            i += 1
            continue
        if char == "\\":
            match = _COMMAND.match(text, i)
            if match is None:
                raise ParseError("a lone '\\' at the end of the LaTeX", col)
            out.append(("cmd", match.group(1), col))
            i = match.end()
            continue
        if char.isdigit() or (char == "." and i + 1 < len(text) and text[i + 1].isdigit()):
            j = i
            while j < len(text) and (text[j].isdigit() or text[j] == "."):
                j += 1
            out.append(("number", text[i:j], col))
            i = j
            continue
        if char.isascii() and char.isalpha():
            j = i
            while j < len(text) and text[j].isascii() and text[j].isalpha():
                j += 1
            out.append(("letters", text[i:j], col))
            i = j
            continue
        out.append(("char", char, col))
        i += 1
    return out


class _Reader:
    def __init__(self, lexemes: list[tuple[str, str, int]]):
        self.lexemes = lexemes
        self.i = 0
        self.depth = 0

    def peek(self):
        return self.lexemes[self.i] if self.i < len(self.lexemes) else None

    def take(self):
        lexeme = self.peek()
        self.i += 1
        return lexeme

    def enter(self, col: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise LimitError(f"the LaTeX is nested too deeply; the limit is {MAX_DEPTH} levels", col)

    def sequence(self, closers: tuple) -> list[Tok]:
        """Tokens until a lexeme in `closers` (not consumed) or the end."""
        out: list[Tok] = []
        while (lexeme := self.peek()) is not None and lexeme[:2] not in closers:
            out.extend(self.item())
        return out

    def item(self) -> list[Tok]:
        kind, text, col = self.take()
        if kind == "number":
            return [Tok(NUMBER, text, col, glue=True)]
        if kind == "letters":
            return self.letters(text, col)
        if kind == "cmd":
            return self.command(text, col)
        if text == "{":
            return [Tok(OP, "(", col, glue=True), *self.braced_rest(col), Tok(OP, ")", col)]
        if text == "}":
            raise ParseError("'}' without a matching '{'", col)
        if text in "^_":
            return [Tok(OP, text, col), *self.argument(text, col)]
        if text in "<>!=":  # a comparison, for where's condition: x < 0, x <= 0, x = 0, x != 0
            return [Tok(OP, self.comparison(text, col), col)]
        if text in "()[]+-*/,|&'":
            if text in "&'":
                raise ParseError(f"'{text}' is not part of gradcli's LaTeX", col)
            text = {"[": "(", "]": ")"}.get(text, text)  # in LaTeX a square bracket groups; lists are matrices
            return [Tok(OP, text, col, glue=text == "(")]
        raise ParseError(f"unexpected character '{text}' in the LaTeX", col)

    def comparison(self, text: str, col: int) -> str:
        """<, <=, >, >=, and = (LaTeX's equality, gradcli's ==) or != ."""
        nxt = self.peek()
        if nxt is not None and nxt[:2] == ("char", "=") and text != "=":
            self.take()
            return text + "="
        if text == "!":
            raise ParseError("'!' is not part of gradcli's LaTeX", col, "write \\ne for 'not equal'")
        return "==" if text == "=" else text

    def letters(self, text: str, col: int) -> list[Tok]:
        if text in _FUNCTIONS or text in ALIASES or text in ("sqrt", "abs", "pi"):
            return [Tok(NAME, _FUNCTIONS.get(text, text), col, glue=True)]
        return [Tok(NAME, letter, col + k, glue=True) for k, letter in enumerate(text)]  # xy is x*y

    def braced_rest(self, col: int) -> list[Tok]:
        """After '{': the tokens up to the matching '}', which is consumed."""
        self.enter(col)
        inner = self.sequence(closers=(("char", "}"),))
        if self.peek() is None:
            raise ParseError("this '{' is not closed", col)
        if not inner:
            raise ParseError("empty braces '{}': something is missing here", col)
        self.take()
        self.depth -= 1
        return inner

    def argument(self, command: str, col: int) -> list[Tok]:
        """One argument: a braced group, or a single character or command (\\frac12, x^2)."""
        lexeme = self.peek()
        shown = f"\\{command}" if command.isalpha() else command
        if lexeme is None:
            raise ParseError(f"'{shown}' needs an argument", col)
        kind, text, arg_col = lexeme
        if kind == "char" and text == "{":
            self.take()
            return [Tok(OP, "(", arg_col), *self.braced_rest(arg_col), Tok(OP, ")", arg_col)]
        if kind in ("number", "letters") and len(text) > 1 and text[0] != ".":  # \frac12 is 1/2; x^23 is x^2*3
            self.lexemes[self.i] = (kind, text[1:], arg_col + 1)
            return [Tok(NUMBER if kind == "number" else NAME, text[0], arg_col)]
        if kind == "char" and text == "-":  # e^-x, as people type it
            self.take()
            return [Tok(OP, "(", arg_col), Tok(OP, "-", arg_col), *self.argument(command, col), Tok(OP, ")", arg_col)]
        self.enter(arg_col)
        out = [Tok(OP, "(", arg_col), *self.item(), Tok(OP, ")", arg_col)]
        self.depth -= 1
        return out

    def command(self, name: str, col: int) -> list[Tok]:
        if name in _SPACING:
            return []
        if name in _FUNCTIONS:
            return [Tok(NAME, _FUNCTIONS[name], col, glue=True)]
        if name in _SYMBOLS:
            return [Tok(OP, _SYMBOLS[name], col)]
        if name == "pi":
            return [Tok(NAME, "pi", col, glue=True)]
        if name in _GREEK:
            if name.lower() == "lambda":
                raise ParseError(
                    "'\\lambda' cannot be a name in gradcli (lambda is reserved)", col, "use another letter"
                )
            return [Tok(NAME, name, col, glue=True)]
        if name in ("frac", "dfrac", "tfrac", "cfrac"):
            self.enter(col)
            top, bottom = self.argument(name, col), self.argument(name, col)
            self.depth -= 1
            if [t.text for t in top] == ["(", "d", ")"] and [t.text for t in bottom][:2] == ["(", "d"]:
                raise ParseError(_OPERATOR, col, "gradcli differentiates it: give only the function")
            return [Tok(OP, "(", col, glue=True), *top, Tok(OP, "/", col), *bottom, Tok(OP, ")", col)]
        if name == "sqrt":
            return self.sqrt(col)
        if name in ("operatorname", "mathrm", "text", "mathit", "rm"):
            return [Tok(NAME, self.word(name, col), col, glue=True)]
        if name in ("exponentialE",):  # MathLive
            return [Tok(NAME, "e", col, glue=True)]
        if name == "differentialD":
            return [Tok(NAME, "d", col, glue=True)]
        if name in ("imaginaryI", "imath", "jmath", "imaginaryJ"):
            raise ParseError("complex numbers are not supported: gradcli differentiates real functions", col)
        if name == "placeholder":
            raise ParseError("an empty placeholder '\\placeholder{}': something is missing here", col)
        if name in ("lbrace", "rbrace"):
            return [Tok(OP, "(" if name == "lbrace" else ")", col, glue=name == "lbrace")]
        if name in ("left", "right", "bigl", "bigr", "Bigl", "Bigr", "mleft", "mright", "biggl", "biggr"):
            return self.delimiter(name, col)
        if name in ("lvert", "rvert", "vert", "mid", "lVert", "rVert"):
            return [Tok(OP, "|", col)]
        if name in ("{", "}"):
            return [Tok(OP, "(" if name == "{" else ")", col, glue=name == "{")]
        if name == "begin":
            return self.matrix(col)
        if name in _DANGEROUS:
            raise ParseError(f"'\\{name}' defines or runs TeX code; gradcli reads only maths", col)
        raise ParseError(f"unknown LaTeX command '\\{name}'", col, "see docs/language.md for the LaTeX gradcli reads")

    def sqrt(self, col: int) -> list[Tok]:
        self.enter(col)
        index = None
        if self.peek() is not None and self.peek()[:2] == ("char", "["):
            self.take()
            index = self.sequence(closers=(("char", "]"),))
            if self.peek() is None:
                raise ParseError("'\\sqrt[' is not closed with ']'", col)
            self.take()
        radicand = self.argument("sqrt", col)
        self.depth -= 1
        if index is None:
            return [Tok(NAME, "sqrt", col, glue=True), *radicand]
        if [(tok.kind, tok.text) for tok in index] == [(NUMBER, "3")]:
            return [Tok(NAME, "cbrt", col, glue=True), *radicand]  # the real cube root, as x^(1/3) is read
        opening, closing = [Tok(OP, "(", col, glue=True)], [Tok(OP, ")", col)]
        root = [Tok(OP, "(", col), Tok(NUMBER, "1", col), Tok(OP, "/", col), Tok(OP, "(", col), *index, *closing * 2]
        return [*opening, *radicand, Tok(OP, "^", col), *root, *closing]  # (radicand)^(1/(n))

    def word(self, command: str, col: int) -> str:
        """The name in \\operatorname{sech}, \\mathrm{e}, \\mathrm{xy}."""
        if self.peek() is None or self.peek()[:2] != ("char", "{"):
            raise ParseError(f"'\\{command}' needs a name in braces, as in \\{command}{{sech}}", col)
        self.take()
        parts = []
        while (lexeme := self.peek()) is not None and lexeme[:2] != ("char", "}"):
            kind, text, part_col = self.take()
            if kind not in ("letters", "number") and text != "_":  # _ or \_ (log\_softmax)
                raise ParseError(f"'\\{command}{{...}}' may hold only a name", part_col)
            parts.append(text)
        if self.peek() is None or not parts:
            raise ParseError(f"'\\{command}{{' needs a name and '}}'", col)
        self.take()
        name = "".join(parts)
        if name in ("i", "j") and command in ("mathrm", "operatorname", "text"):
            raise ParseError("complex numbers are not supported: gradcli differentiates real functions", col)
        return _FUNCTIONS.get(name, ALIASES.get(name, name))

    def delimiter(self, command: str, col: int) -> list[Tok]:
        lexeme = self.take()
        if lexeme is None:
            raise ParseError(f"'\\{command}' needs a delimiter", col)
        kind, text, _ = lexeme
        opening = command in ("left", "bigl", "Bigl", "mleft", "biggl")
        if text == "." and kind == "char":
            return []
        if (kind == "char" and text == "|") or (kind == "cmd" and text in ("vert", "lvert", "rvert", "|")):
            return [Tok(NAME, "abs", col, glue=True), Tok(OP, "(", col)] if opening else [Tok(OP, ")", col)]
        if (kind == "char" and text in "([") or (kind == "cmd" and text in ("{", "lbrace", "lbrack")):
            return [Tok(OP, "(", col, glue=True)]
        if (kind == "char" and text in ")]") or (kind == "cmd" and text in ("}", "rbrace", "rbrack")):
            return [Tok(OP, ")", col)]
        raise ParseError(f"'\\{command}{text}' is not a delimiter gradcli reads", col)

    def matrix(self, col: int) -> list[Tok]:
        """\\begin{pmatrix} a \\\\ b \\end{pmatrix} (one row or one column): the list [a, b]."""
        environment = self.word("begin", col)
        if environment not in _MATRICES:
            raise ParseError(f"'\\begin{{{environment}}}' is not allowed; only a one-row or one-column matrix", col)
        self.enter(col)
        out = [Tok(OP, "[", col)]
        separators = set()
        while True:
            out.extend(self.sequence(closers=(("char", "&"), ("cmd", "\\"), ("cmd", "end"))))
            lexeme = self.take()
            if lexeme is None:
                raise ParseError(f"'\\begin{{{environment}}}' has no '\\end{{{environment}}}'", col)
            kind, text, sep_col = lexeme
            if kind == "cmd" and text == "end":
                self.word("end", sep_col)
                break
            separators.add(text)
            out.append(Tok(OP, ",", sep_col))
        if len(separators) > 1:
            raise ParseError("a matrix with both '&' and '\\\\': gradcli reads one row or one column", col)
        self.depth -= 1
        return [*out, Tok(OP, "]", col)]
