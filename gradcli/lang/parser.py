"""The expression language: a safe parser from text to a small, checked tree.

User text is tokenized, lightly rewritten (``^`` to ``**``, implicit
multiplication such as ``2x``), parsed by :func:`ast.parse` (which only builds
a syntax tree and runs nothing) and converted node by node through an
allow-list into the frozen dataclasses of :mod:`gradcli.lang.tree`. Anything not on the list is a
:class:`ParseError` naming the construct and its column in the user's text.
The tree is the single source from which the sympy and TensorFlow functions
are built, so the two cannot drift apart.
"""

from __future__ import annotations

import ast
import difflib
import io
import keyword
import math
import re
import tokenize
from dataclasses import dataclass

from gradcli.errors import GradcliError, LimitError, ParseError
from gradcli.lang import latex as latex_reader
from gradcli.lang import notation
from gradcli.lang.functions import ARITIES, BY_NAME, SELECT
from gradcli.lang.notation import Note
from gradcli.lang.printers import to_text
from gradcli.lang.tokens import NAME, NUMBER, OP, Tok
from gradcli.lang.tree import (
    CONSTANTS,
    MAX_EXPONENT,
    MIN_CONSTANT,
    BinOp,
    Call,
    Custom,
    ListOf,
    Name,
    Neg,
    Node,
    Num,
    call_depth,
    constant_value,
    free_names,
    has_stops,
    odd_root,
    shift,
    substitute,
    uses_tensor_ops,
    walk,
)

MAX_LENGTH = 1000
MAX_DEPTH = 200
MAX_CALL_DEPTH = 100  # nested functions: sympy's derivative and its exact value grow with them (150 took >10 s)
MAX_NODES = 500
VALUE_MAX_LENGTH = 20000  # a point value may be a longer list of numbers
VALUE_MAX_NODES = 5000
MAX_LITERAL = 1e100

FUNCTIONS = ARITIES  # name -> allowed argument counts
ALIASES = {  # hints only: names gradcli reads as other functions are in notation.ALIASES
    "pow": "the ** operator", "power": "the ** operator", "fabs": "abs",
    "maximum": "max", "minimum": "min", "reduce_sum": "sum", "reduce_mean": "mean",
    "clip_by_value": "clip", "clamp": "clip", "reduce_logsumexp": "logsumexp", "select": "where",
}  # fmt: skip

_DECIMAL = re.compile(r"^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_BINOPS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
    ast.MatMult: "@",
}
_COMPARISONS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_UNSUPPORTED_OPS = {
    ast.FloorDiv: "//", ast.Mod: "%", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^",
}  # fmt: skip


def _check_call_depth(node: Node, what: str) -> None:
    depth = call_depth(node)
    if depth > MAX_CALL_DEPTH:
        raise LimitError(f"{what} nests functions {depth} deep; the limit is {MAX_CALL_DEPTH}")


# ---------------------------------------------------------------- tokenizing


@dataclass
class _Rewritten:
    text: str
    starts: list[tuple[int, int]]  # (offset in rewritten text, column in user text)

    def user_column(self, offset: int) -> int:
        column = 0
        for new, orig in self.starts:
            if new > offset:
                break
            column = orig
        return column


def _tokens(text: str) -> list[tokenize.TokenInfo]:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError) as exc:
        raise ParseError("unbalanced brackets or unfinished expression") from exc
    meaningful = {tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT}
    blank_error = [t for t in tokens if t.type == tokenize.ERRORTOKEN and not t.string.strip()]
    return [t for t in tokens if t.type not in meaningful and t not in blank_error]


def _check_token(tok: tokenize.TokenInfo, col: int) -> None:
    if tok.type == tokenize.STRING:
        raise ParseError("strings are not allowed", col)
    if tok.type == tokenize.COMMENT:
        raise ParseError("comments ('#') are not allowed", col)
    if tok.type == tokenize.ERRORTOKEN or tok.type not in (tokenize.NAME, tokenize.NUMBER, tokenize.OP):
        shown = tok.string.strip() or repr(tok.string)
        raise ParseError(f"unexpected character '{shown}'", col)
    if tok.type in _KINDS:
        check_word(_KINDS[tok.type], tok.string, col)


def check_word(kind: str, text: str, col: int) -> None:
    """The rules every name and number obeys, from typed text or from LaTeX."""
    if kind == NAME:
        if not text.isascii():
            raise ParseError(f"name '{text}' is not plain ASCII", col)
        if keyword.iskeyword(text) or keyword.issoftkeyword(text):
            raise ParseError(f"Python keyword '{text}' is not allowed", col)
        if text.startswith("_"):
            raise ParseError(f"names may not start with '_' ('{text}')", col)
    if kind == NUMBER and not _DECIMAL.match(text):
        raise ParseError(f"'{text}' is not a plain decimal number", col)
    if kind == NUMBER and float(text) == 0 and re.search(r"[1-9]", re.split("[eE]", text)[0]):
        raise LimitError(f"number is smaller than the limit {MIN_CONSTANT:g}", col)


_KINDS = {tokenize.NAME: NAME, tokenize.NUMBER: NUMBER, tokenize.OP: OP}


def read_tokens(text: str) -> list[Tok]:
    """The user's text as checked tokens, Unicode read as ASCII, each with its column in `text`."""
    ascii_text, columns = notation.normalize(text)
    out = []
    for tok in _tokens(ascii_text):
        col = columns[min(tok.start[1], len(columns) - 1)]
        _check_token(tok, col)
        out.append(Tok(_KINDS[tok.type], tok.string, col))
    return out


def read(
    tokens: list[Tok],
    variables: frozenset[str] | None = None,
    customs: frozenset[str] = frozenset(),
    source: str | None = None,
) -> tuple[_Rewritten, list[Note]]:
    """Tokens in any notation, as Python text for ast.parse, with the notes on surprising readings."""
    reading = notation.group(tokens, FUNCTIONS, MAX_DEPTH, variables, customs, source)
    pieces: list[str] = []
    starts: list[tuple[int, int]] = []
    offset = 0
    for tok in reading.tokens:
        string = "**" if tok.text == "^" else tok.text
        starts.append((offset, tok.col))
        pieces.append(string + " ")
        offset += len(string) + 1
    return _Rewritten("".join(pieces), starts), reading.notes + notation.juxtaposition_notes(reading.tokens, source)


# ---------------------------------------------------------------- parsing


def parse(
    text: str,
    allow_lists: bool = False,
    value: bool = False,
    customs: dict | None = None,
    latex: bool = False,
    variables: frozenset[str] | None = None,
) -> Node:
    """Parse user text into a checked tree, or raise ParseError / LimitError.

    value=True is for point values: lists allowed, and longer text. latex=True reads the text as LaTeX
    (--from-latex); without it, only text with a backslash command or a brace is. `variables` are the
    names the problem declares (glued letters split into them: xy is x*y in a problem in x and y).
    """
    return parse_reading(text, allow_lists, value, customs, latex, variables)[0]


def reading_notes(text: str, latex: bool = False, variables: frozenset[str] | None = None) -> list[Note]:
    """Notes on how a text was read where it could surprise (1/2x, sin x^2, 2xy); [] if it does not parse."""
    try:
        return list(parse_program(text, allow_lists=True, latex=latex, variables=variables).notes)
    except GradcliError:
        return []


def problem_names(text: str, latex: bool = False) -> frozenset[str] | None:
    """The variables of an expression (what an answer to it may use); None if it does not parse."""
    try:
        program = parse_program(text, latex=latex)
    except GradcliError:
        return None
    return frozenset().union(*(free_names(tree) for _, tree in program.steps)) - set(program.names) or None


# what other tools wrap maths in when it is copied: Overleaf's $...$ and $$...$$, \(...\) and \[...\]
_WRAPPER = re.compile(r"^\s*(?:\$\$(?P<a>.*)\$\$|\$(?P<b>.*)\$|\\\((?P<c>.*)\\\)|\\\[(?P<d>.*)\\\])\s*$")
_D = r"(?:d|\\(?:mathrm|operatorname|text|mathit)\s*\{\s*d\s*\}|\\differentialD\b)"  # d, \\mathrm{d}, MathLive's
_DERIVATIVE = re.compile(
    r"^\s*(?:(?P<typed>d/d(?P<v>[A-Za-z][A-Za-z0-9]*)(?![A-Za-z0-9]))"
    rf"|(?P<latex>\\[dtc]?frac\s*\{{\s*{_D}\s*\}}\s*\{{\s*{_D}\s*(?P<w>[A-Za-z]|\\[A-Za-z]+)\s*\}}))"
)


def unwrap(text: str) -> tuple[str, int]:
    """The maths inside one pasted wrapper ($...$, $$...$$, \\(...\\), \\[...\\]) and where it starts."""
    match = _WRAPPER.match(text)
    if match is None:
        return text, 0
    group = next(g for g in "abcd" if match.group(g) is not None)
    return match.group(group), match.start(group)


def derivative_prefix(text: str) -> tuple[str, int, bool] | None:
    """`d/dx ...`, `\\frac{d}{dx}...`, `\\frac{\\mathrm{d}}{\\mathrm{d}x}...`: the variable, where the
    function starts, and whether the operator was LaTeX; None without one."""
    match = _DERIVATIVE.match(text)
    if match is None:
        return None
    variable = match.group("v") or match.group("w").lstrip("\\")
    return variable, match.end(), match.group("latex") is not None


def parse_reading(
    text: str,
    allow_lists: bool = False,
    value: bool = False,
    customs: dict | None = None,
    latex: bool = False,
    variables: frozenset[str] | None = None,
    pasted: bool = True,
) -> tuple[Node, list[Note]]:
    """parse(), and the notes on how the text was read. `pasted`: strip a wrapper ($...$) first."""
    if not isinstance(text, str):
        raise ParseError("the expression must be text")
    max_length = VALUE_MAX_LENGTH if value else MAX_LENGTH
    if len(text) > max_length:
        raise LimitError(f"expression is {len(text)} characters long; the limit is {max_length}")
    if "\n" in text or "\r" in text:
        raise ParseError("the expression must be on one line")
    if "\x00" in text:
        raise ParseError("unexpected character '\\x00'", text.index("\x00"))
    if not text.strip():
        raise ParseError("the expression is empty")
    inner, start = unwrap(text) if pasted and not value else (text, 0)
    if start:
        return _parse_rest(text, start, allow_lists, value, customs, latex, variables, inner)
    head = _DEFINITION.match(text)
    if head:  # f(x) = x^2, f'(x) = 2x, dy/dx = 2x: what was pasted is the right-hand side
        return _parse_rest(text, head.end(), allow_lists, value, customs, latex, variables)
    operator = None if value else derivative_prefix(text)
    if operator is not None:  # d/dx x^2 sin x: the question itself; the function follows the operator
        variable, start, in_latex = operator
        if not text[start:].strip():
            raise ParseError(f"'{text[:start].strip()}' needs the function after it", 0)
        node, notes = _parse_rest(text, start, allow_lists, value, customs, latex or in_latex, variables)
        typed = text[:start].strip()
        message = f"'{typed}' asks for the derivative with respect to {variable}"
        return node, [Note(notation.DERIVATIVE, typed, variable, message), *notes]
    if latex_reader.is_latex(text, latex):
        tokens = latex_reader.tokens(text)
        for tok in tokens:
            check_word(tok.kind, tok.text, tok.col)
    else:
        tokens = read_tokens(text)
    rewritten, notes = read(tokens, variables, frozenset(customs or ()), text)
    try:
        tree = ast.parse(rewritten.text.strip(), mode="eval")
    except SyntaxError as exc:
        if "too many nested parentheses" in (exc.msg or ""):  # Python's parser stops at 200 open brackets
            raise LimitError(f"expression is nested too deeply; the limit is {MAX_DEPTH} levels") from exc
        stripped = text.rstrip()
        if stripped[-1] in "+-*/^@(,":
            raise ParseError(
                f"the expression ends with '{stripped[-1]}': something is missing after it", len(stripped) - 1
            ) from exc
        offset = max((exc.offset or 1) - 1, 0)
        raise ParseError("invalid syntax", rewritten.user_column(offset), _syntax_hint(text)) from exc
    except (RecursionError, MemoryError, ValueError) as exc:
        raise LimitError(f"expression is nested too deeply; the limit is {MAX_DEPTH} levels") from exc
    converter = _Converter(rewritten, allow_lists or value, VALUE_MAX_NODES if value else MAX_NODES, customs)
    node = converter.convert(tree.body, depth=0)
    _check_call_depth(node, "the expression")
    _check_constants(node)
    return node, [*notes, *_real_root_notes(node)]


def _real_root_notes(node: Node) -> list[Note]:
    """One note for the first odd root of a variable (x^(1/3)): its reading for x < 0 is a convention."""
    powers = [sub for sub in walk(node) if isinstance(sub, BinOp) and sub.op == "**" and free_names(sub.left)]
    for sub in sorted(powers, key=lambda power: power.col):  # the first as typed
        if root := odd_root(sub.right):
            p, q = root
            base = f"({to_text(sub.left)})" if isinstance(sub.left, BinOp | Neg) else to_text(sub.left)
            typed = f"{base}^({p}/{q})"
            what = "the real cube root" if q == 3 else f"the real root of order {q}"
            message = f"{typed} is read as {what}{'' if p == 1 else f' to the power {p}'} for {base} < 0"
            return [Note(notation.REAL_ROOT, typed, f"{what} of {base}", message)]
    return []


_DEFINITION = re.compile(
    r"^\s*(?:[A-Za-z]\w*'*\s*\(\s*[A-Za-z]\w*(?:\s*,\s*[A-Za-z]\w*)*\s*\)|[A-Za-z]\w*'+|d\w*/d[A-Za-z]\w*)\s*=(?!=)"
)


def _parse_rest(
    text: str, start: int, allow_lists: bool, value: bool, customs, latex, variables, inner: str | None = None
) -> tuple[Node, list[Note]]:
    try:
        rest = text[start:] if inner is None else inner
        node, notes = parse_reading(rest, allow_lists, value, customs, latex, variables, pasted=False)
    except GradcliError as exc:
        column = None if exc.column is None else exc.column + start
        raise type(exc)(exc.message, column, exc.hint) from exc
    return shift(node, start), notes


def _syntax_hint(text: str) -> str | None:
    if re.search(r"[A-Za-z_]\w*\s+[A-Za-z_(]", text):
        return "write the multiplication explicitly, e.g. 'x*y' instead of 'x y'"
    if text.count("(") != text.count(")"):
        return "check that the parentheses are balanced"
    return None


class _Converter:
    def __init__(self, rewritten: _Rewritten, allow_lists: bool, max_nodes: int, customs: dict | None = None):
        self.customs = customs or {}
        self.rewritten = rewritten
        self.allow_lists = allow_lists
        self.max_nodes = max_nodes
        self.count = 0

    def col(self, node: ast.AST) -> int:
        return self.rewritten.user_column(getattr(node, "col_offset", 0))

    def convert(self, node: ast.AST, depth: int) -> Node:
        self.count += 1
        if self.count > self.max_nodes:
            raise LimitError(f"expression has more than {self.max_nodes} parts; the limit is {self.max_nodes}")
        if depth > MAX_DEPTH:
            raise LimitError(f"expression is nested too deeply; the limit is {MAX_DEPTH} levels", self.col(node))
        col = self.col(node)
        if isinstance(node, ast.Constant):
            return self._number(node, col)
        if isinstance(node, ast.Name):
            return self._name(node, col)
        if isinstance(node, ast.UnaryOp):
            return self._unary(node, col, depth)
        if isinstance(node, ast.BinOp):
            return self._binop(node, col, depth)
        if isinstance(node, ast.Call):
            return self._call(node, col, depth)
        if isinstance(node, ast.List) and self.allow_lists:
            return ListOf(tuple(self.convert(item, depth + 1) for item in node.elts), col)
        if isinstance(node, ast.Compare):
            raise ParseError(
                "a comparison is allowed only as the condition of where(cond, a, b)",
                col,
                "for example where(x > 0, sqrt(x), 0)",
            )
        raise ParseError(f"{_describe(node)} is not allowed", col)

    def _condition(self, node: ast.AST, name: str, depth: int) -> BinOp:
        """where's first argument: one comparison of two values (x > 0, x**2 <= y, x != 1)."""
        col = self.col(node)
        self.count += 1
        if not isinstance(node, ast.Compare):
            raise ParseError(f"the first argument of {name}() must be a comparison, as in {name}(x > 0, a, b)", col)
        if len(node.ops) != 1 or type(node.ops[0]) not in _COMPARISONS:
            raise ParseError(
                "a chained comparison (0 < x < 1) is not allowed",
                col,
                f"nest two conditions: {name}(x > 0, {name}(x < 1, a, b), b)",
            )
        left = self.convert(node.left, depth + 1)
        right = self.convert(node.comparators[0], depth + 1)
        return BinOp(_COMPARISONS[type(node.ops[0])], left, right, col)

    def _number(self, node: ast.Constant, col: int) -> Num:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParseError(f"{type(value).__name__} constants are not allowed", col)
        if abs(value) > MAX_LITERAL or not math.isfinite(value):
            raise LimitError(f"number is larger than the limit {MAX_LITERAL:g}", col)
        if value != 0 and abs(value) < MIN_CONSTANT:
            raise LimitError(f"number is smaller than the limit {MIN_CONSTANT:g}", col)
        return Num(_number_text(value), float(value), col)

    def _name(self, node: ast.Name, col: int) -> Name:
        if node.id in FUNCTIONS:
            raise ParseError(f"'{node.id}' is a function; call it like {node.id}(x)", col)
        return Name(node.id, col)

    def _unary(self, node: ast.UnaryOp, col: int, depth: int) -> Node:
        operand = self.convert(node.operand, depth + 1)
        if isinstance(node.op, ast.USub):
            return Neg(operand, col)
        if isinstance(node.op, ast.UAdd):
            return operand
        symbol = {ast.Not: "not", ast.Invert: "~"}.get(type(node.op), "?")
        raise ParseError(f"operator '{symbol}' is not allowed", col)

    def _binop(self, node: ast.BinOp, col: int, depth: int) -> BinOp:
        op = _BINOPS.get(type(node.op))
        if op is None:
            symbol = _UNSUPPORTED_OPS.get(type(node.op), "?")
            raise ParseError(f"operator '{symbol}' is not supported", self._op_column(node, col))
        left = self.convert(node.left, depth + 1)
        right = self.convert(node.right, depth + 1)
        return BinOp(op, left, right, col)

    def _op_column(self, node: ast.BinOp, col: int) -> int:
        end = getattr(node.left, "end_col_offset", None)
        return self.rewritten.user_column(end + 1) if end is not None else col

    def _call(self, node: ast.Call, col: int, depth: int) -> Call:
        if not isinstance(node.func, ast.Name):
            raise ParseError(f"{_describe(node.func)} cannot be called", col)
        name = node.func.id
        if name in self.customs:
            if len(node.args) != 1 or node.keywords:
                raise ParseError(f"{name}() takes 1 argument", col)
            spec = self.customs[name]
            return Custom(name, spec.param, spec.body, spec.rule, self.convert(node.args[0], depth + 1), col)
        if name not in FUNCTIONS:
            raise ParseError(f"unknown function '{name}'", col, _function_hint(name))
        if node.keywords:
            raise ParseError(f"keyword arguments are not allowed in {name}()", col)
        if any(isinstance(arg, ast.Starred) for arg in node.args):
            raise ParseError(f"'*' unpacking is not allowed in {name}()", col)
        arities = FUNCTIONS[name]
        if name in _VARIADIC and len(node.args) > max(arities):  # max(a, b, c) is max(max(a, b), c)
            args = [self.convert(arg, depth + 1) for arg in node.args]
            folded = Call(name, tuple(args[:2]), col)
            for arg in args[2:]:
                folded = Call(name, (folded, arg), col)
            return folded
        if len(node.args) not in arities:
            wanted = " or ".join(str(a) for a in arities)
            raise ParseError(f"{name}() takes {wanted} argument(s), got {len(node.args)}", col)
        if BY_NAME[name].kind == SELECT:
            first, *rest = node.args
            args = (self._condition(first, name, depth + 1), *(self.convert(arg, depth + 1) for arg in rest))
        else:
            args = tuple(self.convert(arg, depth + 1) for arg in node.args)
        if name == "log" and len(args) == 2:
            _check_base(args[1], col)
        return Call(name, args, col)


_VARIADIC = ("max", "min")


def _check_base(base: Node, col: int) -> None:
    """log(x, 1) is no function (every log to base 1 divides by 0); a base <= 0 is not real."""
    value = constant_value(base)
    if value is not None and (value == 1 or value <= 0):
        raise ParseError(
            f"log(..., {to_text(base)}): a logarithm to base {to_text(base)} is not a function",
            col,
            "the base must be positive and not 1",
        )


def _number_text(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    return repr(value)


def _function_hint(name: str) -> str | None:
    if name in ALIASES:
        return f"did you mean {ALIASES[name]}?"
    close = difflib.get_close_matches(name.lower(), list(FUNCTIONS), n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"to multiply, write '{name}*(...)'"


def _describe(node: ast.AST) -> str:
    names = {
        ast.Attribute: "attribute access ('.')",
        ast.Subscript: "indexing ('[...]')",
        ast.Lambda: "lambda",
        ast.ListComp: "a comprehension",
        ast.GeneratorExp: "a comprehension",
        ast.SetComp: "a comprehension",
        ast.DictComp: "a comprehension",
        ast.BoolOp: "'and'/'or'",
        ast.IfExp: "'if ... else'",
        ast.Tuple: "a tuple (',')",
        ast.List: "a list ('[...]')",
        ast.Dict: "a dict",
        ast.Set: "a set",
        ast.Starred: "'*' unpacking",
        ast.NamedExpr: "':='",
        ast.JoinedStr: "a string",
        ast.Await: "await",
        ast.Yield: "yield",
        ast.Slice: "a slice",
    }
    return names.get(type(node), f"'{type(node).__name__}'")


def _check_constants(node: Node) -> None:
    """Refuse oversized constants anywhere in the tree, including inside variable parts."""
    for sub in walk(node):
        if isinstance(sub, BinOp) and sub.op == "**":
            exponent = constant_value(sub.right)
            if exponent is not None and abs(exponent) > MAX_EXPONENT:
                raise LimitError(f"exponent {exponent:g} is larger than the limit {MAX_EXPONENT}", sub.col)
        if not free_names(sub) and not isinstance(sub, ListOf):
            folded = constant_value(sub)
            if folded is not None and not math.isfinite(folded):
                raise ParseError(f"the constant {to_text(sub)} is not a finite real number", sub.col)


# ---------------------------------------------------------------- programs: named steps


MAX_INLINED_NODES = 5000
_STEP = re.compile(r"^(\s*)([A-Za-z][A-Za-z0-9_]*)(\s*=)(?!=)")
_UNDERSCORE_STEP = re.compile(r"^(\s*)(_\w*)(\s*=)(?!=)")


@dataclass(frozen=True)
class Program:
    """`y = x*x; z = stop_gradient(y); w = z + x`: named steps, the last one the target."""

    steps: tuple[tuple[str, Node], ...]
    notes: tuple[Note, ...] = ()  # how the text was read (1/2x, 2xy, d/dx ...)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.steps)

    @property
    def wrt(self) -> str | None:
        """The variable of a `d/dx ...` the text starts with, or None."""
        return next((n.read for n in self.notes if n.kind == notation.DERIVATIVE), None)

    @property
    def text(self) -> str:
        if len(self.steps) == 1 and self.steps[0][0] == "f":
            return to_text(self.steps[0][1])
        return "; ".join(f"{name} = {to_text(tree)}" for name, tree in self.steps)


def operator_wrt(program: Program, wrt) -> tuple[str, ...] | None:
    """--wrt with a `d/dx ...` the text starts with: the operator's variable where --wrt is not given; the
    same one is fine; another is an error (two answers to one question)."""
    if program.wrt is None:
        return tuple(wrt) if wrt else None
    if wrt and tuple(wrt) != (program.wrt,):
        raise ParseError(
            f"the expression asks for d/d{program.wrt} but --wrt says {', '.join(wrt)}", None, "give one of them"
        )
    names = frozenset().union(*(free_names(tree) for _, tree in program.steps))
    if program.wrt not in names:
        shown = ", ".join(sorted(names)) or "a constant"
        raise ParseError(f"the expression asks for d/d{program.wrt} but has no {program.wrt} ({shown})")
    return (program.wrt,)


_SEPARATOR = re.compile(r"(?<!\\);")  # \; is LaTeX spacing, never the step separator


def parse_program(
    text: str,
    allow_lists: bool = False,
    customs: dict | None = None,
    latex: bool = False,
    variables: frozenset[str] | None = None,
) -> Program:
    """Parse `expr` or `a = expr; b = expr; ...`; columns in errors point into the whole text."""
    if not isinstance(text, str):
        raise ParseError("the expression must be text")
    if len(text) > MAX_LENGTH:
        raise LimitError(f"expression is {len(text)} characters long; the limit is {MAX_LENGTH}")
    inner, begin = unwrap(text)
    parts, offset = [], begin
    for part in _SEPARATOR.split(inner):
        parts.append((part, offset))
        offset += len(part) + 1
    steps: list[tuple[str, Node]] = []
    notes: list[Note] = []
    for i, (part, start) in enumerate(parts):
        match = _STEP.match(part)
        last = i == len(parts) - 1
        if match is None and not last:
            named = _UNDERSCORE_STEP.match(part)
            if named:
                raise ParseError(
                    f"bad step name '{named.group(2)}': names start with a letter", start + len(named.group(1))
                )
            raise ParseError("each step before the last must be named: write name = expression", start)
        name = match.group(2) if match else "f"
        body_start = start + (match.end() if match else 0)
        if match:
            _check_step_name(name, steps, start + len(match.group(1)))
        body = text[body_start : start + len(part)]
        tree, part_notes = _parse_at(body, body_start, allow_lists and last, customs, latex, variables)
        steps.append((name, tree))
        notes += [n for n in part_notes if n not in notes]
    _check_values(steps, parts)
    return Program(tuple(steps), tuple(notes))


def _check_values(steps: list[tuple[str, Node]], parts) -> None:
    """`x = 2; x*x` gives x a value and leaves the function no variable: the point goes in --at."""
    names = {name for name, _ in steps}
    if len(steps) < 2 or frozenset().union(*(free_names(tree) for _, tree in steps)) - names:
        return
    for (name, tree), (_, start) in zip(steps, parts, strict=True):
        if not free_names(tree) and any(name in free_names(later) for _, later in steps):
            raise ParseError(
                f"step '{name} = {to_text(tree)}' gives {name} a value, so the function has no variable left",
                start,
                f"to differentiate at {name} = {to_text(tree)}, give the point: --at {name}={to_text(tree)}",
            )


def _check_step_name(name: str, steps, column: int) -> None:
    if name in FUNCTIONS or name in CONSTANTS:
        raise ParseError(f"'{name}' is a built-in name and cannot name a step", column)
    if any(name == existing for existing, _ in steps):
        raise ParseError(f"step '{name}' is defined twice", column)


def _parse_at(
    text: str, offset: int, allow_lists: bool, customs: dict | None, latex: bool, variables: frozenset[str] | None
) -> tuple[Node, list[Note]]:
    try:
        node, notes = parse_reading(text, allow_lists, customs=customs, latex=latex, variables=variables, pasted=False)
        return shift(node, offset), notes
    except (ParseError, LimitError) as exc:
        column = None if exc.column is None else exc.column + offset
        raise type(exc)(exc.message, column, exc.hint) from exc


def inline(program: Program, stops: frozenset[str] = frozenset()) -> dict[str, Node]:
    """Every step as one tree of the inputs; steps named in `stops` enter later steps as stop_gradient(...)."""
    done: dict[str, Node] = {}
    seen: dict[str, Node] = {}
    for name, tree in program.steps:
        full = substitute(tree, seen)
        if sum(1 for _ in walk(full)) > MAX_INLINED_NODES:
            raise LimitError(f"step '{name}' expands to more than {MAX_INLINED_NODES} parts")
        _check_call_depth(full, f"step '{name}' (with the steps it uses)")
        done[name] = full
        seen[name] = Call("stop_gradient", (full,), tree.col) if name in stops else full
    return done


# ---------------------------------------------------------------- custom gradients


@dataclass(frozen=True)
class CustomSpec:
    name: str
    param: str
    body: Node
    rule: Node

    @property
    def text(self) -> str:
        return f"{self.name}({self.param}) = {to_text(self.body)} : {to_text(self.rule)}"


_CUSTOM = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*\(\s*([A-Za-z][A-Za-z0-9_]*)\s*\)\s*=(.*)$")


def parse_custom(text: str, latex: bool = False) -> CustomSpec:
    """`cube(x) = x**3 : 2*x`: a function, its body, and the backward rule the tape will use."""
    match = _CUSTOM.match(text) if isinstance(text, str) else None
    if match is None or text.count(":") != 1:
        raise ParseError(f"--custom {text!r}: write name(x) = body : derivative, e.g. cube(x) = x**3 : 3*x**2")
    name, param, rest = match.groups()
    if name in FUNCTIONS or name in CONSTANTS:
        raise ParseError(f"--custom: '{name}' is a built-in name")
    if param in CONSTANTS:
        raise ParseError(f"--custom: '{param}' is a built-in constant and cannot be the parameter")
    body_text, rule_text = rest.split(":")
    body, rule = parse(body_text, latex=latex), parse(rule_text, latex=latex)
    for part, tree in (("body", body), ("derivative", rule)):
        extra = free_names(tree) - {param}
        if extra:
            raise ParseError(f"--custom {name}: the {part} may use only {param}, not {', '.join(sorted(extra))}")
        if uses_tensor_ops(tree) or has_stops(tree):
            raise ParseError(f"--custom {name}: the {part} must be elementwise (no sum, mean, @ or stop_gradient)")
    return CustomSpec(name, param, body, rule)
