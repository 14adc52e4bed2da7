"""Presentation MathML of gradcli's tree: Chromium typesets <math> natively, so a preview needs no script.

Built from the same checked tree as the LaTeX printer (gradcli.lang.printers), with the same precedence
rules, and escaped: user text reaches the markup only as the names and numbers the parser allowed.
"""

from __future__ import annotations

from html import escape

from gradcli.lang.functions import TEXTBOOK
from gradcli.lang.tree import BinOp, Call, Custom, ListOf, Name, Neg, Node, Num

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "@": 2, "neg": 3, "**": 4}
_OPERATORS = {"+": "+", "-": "\u2212", "*": "\u00b7", "@": "@"}
_GREEK = {"pi": "\u03c0", "alpha": "\u03b1", "beta": "\u03b2", "theta": "\u03b8", "lambda": "\u03bb", "mu": "\u03bc"}


def of_tree(node: Node) -> str:
    """One <math> element for the tree."""
    return f'<math display="block">{_ml(node, 0)}</math>'


def of_text(text: str) -> str:
    """MathML of an expression in gradcli's language (a derivative as the library prints it); text that the
    parser does not read is shown as text, never dropped."""
    from gradcli.errors import GradcliError
    from gradcli.lang.parser import parse

    try:
        return of_tree(parse(text))
    except (GradcliError, RecursionError):
        return f'<math display="block"><mtext>{escape(text)}</mtext></math>'


def of_derivatives(formulas) -> str:
    """The derivative (one variable) or the gradient as a row (several), in one <math> element."""
    if isinstance(formulas, list):  # a matrix
        rows = "".join("<mtr>" + "".join(f"<mtd>{_inner(e)}</mtd>" for e in row) + "</mtr>" for row in formulas)
        return f'<math display="block"><mrow><mo>[</mo><mtable>{rows}</mtable><mo>]</mo></mrow></math>'
    items = [_inner(f) for f in formulas.values()]
    if len(items) == 1:
        return f'<math display="block">{items[0]}</math>'
    return '<math display="block"><mrow><mo>(</mo>' + "<mo>,</mo>".join(items) + "<mo>)</mo></mrow></math>"


def _inner(text: str) -> str:
    return of_text(text).removeprefix('<math display="block">').removesuffix("</math>")


def _fenced(inner: str, left: str = "(", right: str = ")") -> str:
    return f"<mrow><mo>{left}</mo>{inner}<mo>{right}</mo></mrow>"


def _ml(node, parent: int) -> str:
    if isinstance(node, Num):
        return f"<mn>{escape(node.text)}</mn>"
    if isinstance(node, Name):
        return f"<mi>{escape(_GREEK.get(node.id, node.id))}</mi>"
    if isinstance(node, Custom):
        return f"<mrow><mi>{escape(node.name)}</mi>{_fenced(_ml(node.arg, 0))}</mrow>"
    if isinstance(node, ListOf):
        return _fenced("<mo>,</mo>".join(_ml(i, 0) for i in node.items), "[", "]")
    if isinstance(node, Call):
        return _call(node)
    if isinstance(node, Neg):
        text = f"<mrow><mo>\u2212</mo>{_ml(node.operand, _PRECEDENCE['neg'])}</mrow>"
        return _fenced(text) if parent >= _PRECEDENCE["*"] else text
    assert isinstance(node, BinOp)
    mine = _PRECEDENCE[node.op]
    if node.op == "/":
        return f"<mfrac>{_ml(node.left, 0)}{_ml(node.right, 0)}</mfrac>"
    if node.op == "**":
        text = f"<msup>{_ml(node.left, mine + 1)}{_ml(node.right, 0)}</msup>"
        return _fenced(text) if mine <= parent else text
    text = f"<mrow>{_ml(node.left, mine)}<mo>{_OPERATORS[node.op]}</mo>{_ml(node.right, mine + 1)}</mrow>"
    return _fenced(text) if mine < parent else text


def _call(node: Call) -> str:
    args = "<mo>,</mo>".join(_ml(a, 0) for a in node.args)
    if node.func == "abs":
        return _fenced(args, "|", "|")
    if node.func == "sqrt":
        return f"<msqrt>{args}</msqrt>"
    name = TEXTBOOK.get(node.func, node.func)
    return f"<mrow><mi>{escape(name)}</mi><mo>\u2061</mo>{_fenced(args)}</mrow>"
