"""Printers: a tree as gradcli's own text, as a textbook writes it, and as LaTeX.

Each printer's output reads back to the same tree: :func:`to_text` through the parser,
:func:`to_textbook` through :mod:`gradcli.lang.notation`, :func:`to_latex` through
:mod:`gradcli.lang.latex`.
"""

from __future__ import annotations

from decimal import Decimal

from gradcli.lang.functions import LATEX, TEXTBOOK
from gradcli.lang.tree import COMPARISONS, BinOp, Call, Custom, ListOf, Name, Neg, Node, Num

# the one precedence table of every printer
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "@": 2, "neg": 3, "**": 4}
_PRECEDENCE.update(dict.fromkeys(COMPARISONS, 0))  # only ever where's condition: never inside another operator
_LATEX_COMPARISONS = {"<": " < ", "<=": r" \le ", ">": " > ", ">=": r" \ge ", "==": " = ", "!=": r" \ne "}


# ---------------------------------------------------------------- gradcli's own text


def to_text(node: Node) -> str:
    """The canonical text of a tree: what gradcli understood the user to mean."""
    return _print(node, 0)


def _print(node: Node, parent: int) -> str:
    if isinstance(node, Custom):
        return f"{node.name}({_print(node.arg, 0)})"
    if isinstance(node, Num):
        return node.text
    if isinstance(node, Name):
        return node.id
    if isinstance(node, Call):
        return f"{node.func}({', '.join(_print(a, 0) for a in node.args)})"
    if isinstance(node, ListOf):
        return "[" + ", ".join(_print(i, 0) for i in node.items) + "]"
    if isinstance(node, Neg):
        text = "-" + _print(node.operand, _PRECEDENCE["neg"])
        return f"({text})" if parent >= _PRECEDENCE["*"] else text
    mine = _PRECEDENCE[node.op]
    if node.op == "**":  # right-associative: parenthesize a power on either side
        text = f"{_print(node.left, mine + 1)}**{_print(node.right, mine)}"
        return f"({text})" if mine <= parent else text
    joiner = f" {node.op} " if node.op in ("+", "-", *COMPARISONS) else node.op
    text = f"{_print(node.left, mine)}{joiner}{_print(node.right, mine + 1)}"
    return f"({text})" if mine < parent else text


# ---------------------------------------------------------------- textbook notation


def to_textbook(node) -> str:
    """A tree as a textbook would write it (|x|, sin^2(x), 2x, √(x), ln, π, ·, −); group() reads it back
    to the same tree. gradcli's own form is to_text."""
    return _textbook(node, 0)


def _textbook(node, parent: int) -> str:
    if isinstance(node, Num):
        return node.text
    if isinstance(node, Name):
        return "π" if node.id == "pi" else node.id
    if isinstance(node, Custom | ListOf):
        return to_text(node)
    if isinstance(node, Call):
        args = ", ".join(_textbook(a, 0) for a in node.args)
        if node.func == "abs":
            return f"|{args}|"
        if node.func == "sqrt":
            return f"√({args})"
        if node.func == "cbrt":
            return f"∛({args})"
        return f"{TEXTBOOK.get(node.func, node.func)}({args})"
    if isinstance(node, Neg):
        text = "-" + _textbook(node.operand, _PRECEDENCE["neg"])
        return f"({text})" if parent >= _PRECEDENCE["*"] else text
    mine = _PRECEDENCE[node.op]
    if node.op == "**" and _function_power(node):
        call = node.left
        text = f"{TEXTBOOK.get(call.func, call.func)}^{node.right.text}({_textbook(call.args[0], 0)})"
        return f"({text})" if mine <= parent else text
    if node.op == "**":
        text = f"{_textbook(node.left, mine + 1)}^{_textbook(node.right, mine)}"
        return f"({text})" if mine <= parent else text
    if node.op == "*" and _juxtaposable(node.left, node.right):
        joiner = ""  # 2x
    else:
        joiner = {"+": " + ", "-": " − ", "*": "·", "/": "/", "@": "@"}.get(node.op, f" {node.op} ")
    text = f"{_textbook(node.left, mine)}{joiner}{_textbook(node.right, mine + 1)}"
    return f"({text})" if mine < parent else text


def _function_power(node) -> bool:
    """sin(x)**2 is printed sin^2(x): a one-argument function (not abs or sqrt) to a whole power."""
    call, power = node.left, node.right
    return (
        isinstance(call, Call)
        and len(call.args) == 1
        and call.func not in ("abs", "sqrt")
        and isinstance(power, Num)
        and power.text.isdigit()
    )


def _juxtaposable(left, right) -> bool:
    """2x, but not 2e3 (a number), 2j (imaginary) or 0x1 (hex) when the name is e3, j or x1."""
    return (
        isinstance(left, Num)
        and isinstance(right, Name)
        and right.id[0] not in "eEjJ"
        and not (left.text.startswith("0") and "." not in left.text)
    )


# ---------------------------------------------------------------- LaTeX


def to_latex(node) -> str:
    """LaTeX for a tree, which tokens() and the parser read back to the same tree."""
    return _latex(node, 0)


def _paren(text: str) -> str:
    return rf"\left({text}\right)"


def _latex(node, parent: int) -> str:
    if isinstance(node, Num):
        return _number(node.text)
    if isinstance(node, Name):
        if node.id == "pi":
            return r"\pi"
        return node.id if len(node.id) == 1 else rf"\mathrm{{{node.id}}}"
    if isinstance(node, Custom):
        return rf"\operatorname{{{node.name}}}{_paren(_latex(node.arg, 0))}"
    if isinstance(node, ListOf):
        return r"\left[" + ", ".join(_latex(i, 0) for i in node.items) + r"\right]"
    if isinstance(node, Call):
        return _call(node)
    if isinstance(node, Neg):
        text = "-" + _latex(node.operand, _PRECEDENCE["neg"])
        return _paren(text) if parent >= _PRECEDENCE["*"] else text
    assert isinstance(node, BinOp)
    mine = _PRECEDENCE[node.op]
    if node.op == "/":
        text = rf"\frac{{{_latex(node.left, 0)}}}{{{_latex(node.right, 0)}}}"
        return text
    if node.op == "**":
        text = f"{_latex(node.left, mine + 1)}^{{{_latex(node.right, 0)}}}"
        return _paren(text) if mine <= parent else text
    joiner = {"+": " + ", "-": " - ", "*": r" \cdot ", "@": " @ ", **_LATEX_COMPARISONS}[node.op]
    text = f"{_latex(node.left, mine)}{joiner}{_latex(node.right, mine + 1)}"
    return _paren(text) if mine < parent else text


def _call(node) -> str:
    args = ", ".join(_latex(a, 0) for a in node.args)
    if node.func == "abs":
        return rf"\left|{args}\right|"
    if node.func == "sqrt":
        return rf"\sqrt{{{args}}}"
    if node.func == "cbrt":
        return rf"\sqrt[3]{{{args}}}"
    if node.func == "log" and len(node.args) == 2:
        return rf"\log{_paren(args)}"
    escaped = node.func.replace("_", r"\_")  # log_softmax: an underscore in LaTeX is a subscript
    head = LATEX.get(node.func, rf"\operatorname{{{escaped}}}")
    return f"{head}{_paren(args)}"


def _number(text: str) -> str:
    """Positional digits: 1e-05 would read back as 1*e - 5 in LaTeX; 0.00001 reads back as the same number."""
    if "e" not in text.lower():
        return text
    digits = format(Decimal(text), "f")
    return digits if "." in digits else digits + ".0"
