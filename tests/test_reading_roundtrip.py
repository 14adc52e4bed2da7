"""Issue 20, part 2: random trees, written the way people write maths, read back to the same tree.

Two small printers of our own, so the reader is tested against notation it did not produce: textbook
notation (juxtaposition `2x`, `x(x+1)`, glued single letters `xy`, signed exponents `x^-2`) and LaTeX with
square brackets and spacing commands (`\\left[x + 1\\right]^{2}`, `2\\,x`). Each choice (glue or space,
which bracket, which spacing) is drawn per node, so one tree is written many ways.
"""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gradcli.errors import ParseError
from gradcli.lang.functions import LATEX
from gradcli.lang.parser import parse
from gradcli.lang.tree import BinOp, Call, Name, Neg, Num
from tests.budget import examples
from tests.test_properties import NAMES, expressions

VARIABLES = frozenset(NAMES)
LETTERS = frozenset(NAMES)  # single letters that glue: x, y (not e or pi, which are constants)
PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "**": 4}


def _products():
    """Products of letters, numbers, brackets and powers (signed too): where juxtaposition is written."""
    leaves = st.sampled_from(["x", "y", "2", "3", "0.5"])

    def extend(inner):
        return st.one_of(
            st.tuples(inner, inner).map(lambda t: f"({t[0]})*({t[1]})"),
            st.tuples(inner, st.sampled_from(["+", "-", "/"]), inner).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
            st.tuples(inner, st.sampled_from(["2", "3", "x", "(-1)", "(-2)", "(-x)", "(-y)"])).map(
                lambda t: f"({t[0]})**{t[1]}"
            ),
            st.tuples(st.sampled_from(["sin", "exp", "sqrt"]), inner).map(lambda t: f"{t[0]}({t[1]})"),
            inner.map(lambda t: f"-({t})"),
        )

    return st.recursive(leaves, extend, max_leaves=8)


def _signed_powers():
    """The grammar's trees, with signed exponents: (a)**(-2) * (b), x**(-y); and products to juxtapose."""
    signed = st.tuples(expressions(), st.sampled_from(["-1", "-2", "-x", "-y"]), expressions())
    return st.one_of(expressions(), signed.map(lambda t: f"({t[0]})**({t[1]}) * ({t[2]})"), _products())


# ---------------------------------------------------------------- textbook notation


def _atom_exponent(node) -> bool:
    return isinstance(node, Num) and node.text.isdigit() or isinstance(node, Name)


def _signed_exponent(node) -> bool:
    return isinstance(node, Neg) and _atom_exponent(node.operand)


def textbook(node, draw, parent: int = 0) -> str:
    if isinstance(node, Num):
        return node.text
    if isinstance(node, Name):
        return node.id
    if isinstance(node, Call):
        return f"{node.func}({', '.join(textbook(a, draw) for a in node.args)})"
    if isinstance(node, Neg):
        text = "-" + textbook(node.operand, draw, PRECEDENCE["neg"])
        return f"({text})" if parent >= PRECEDENCE["*"] else text
    assert isinstance(node, BinOp)
    if node.op not in PRECEDENCE:  # a comparison, only ever where's condition
        return f"{textbook(node.left, draw)} {node.op} {textbook(node.right, draw)}"
    mine = PRECEDENCE[node.op]
    if node.op == "**":
        text = f"{textbook(node.left, draw, mine + 1)}^{_exponent(node.right, draw)}"
        return f"({text})" if mine <= parent else text
    left, right = textbook(node.left, draw, mine), textbook(node.right, draw, mine + 1)
    if node.op == "*":
        text = f"{left}{_juxtapose(node.left, node.right, left, right, draw)}{right}"
    else:
        text = f"{left}{draw(st.sampled_from([' ', '']))}{node.op}{draw(st.sampled_from([' ', '']))}{right}"
    return f"({text})" if mine < parent else text


def _exponent(node, draw) -> str:
    if _atom_exponent(node):
        return textbook(node, draw)
    if _signed_exponent(node):
        return "-" + textbook(node.operand, draw)  # x^-2, e^-x
    return f"({textbook(node, draw)})"


def _glued_product_end(node) -> bool:
    """2, x, 2x, 2xy: a product that ends in a digit or a glued letter, so a letter may follow glued."""
    if isinstance(node, Num) or isinstance(node, Name) and node.id in LETTERS:
        return True
    return (
        isinstance(node, BinOp)
        and node.op == "*"
        and isinstance(node.right, Name)
        and node.right.id in LETTERS
        and _glued_product_end(node.left)
    )


def _juxtapose(left_node, right_node, left: str, right: str, draw) -> str:
    """The joiner of a product: glued (2x, xy, x(x+1)), a space (x sin(y), x^2 y, x^-2 y) or a dot."""
    joiner = _joiner(left_node, right_node, left, right, draw)
    if joiner == " " and left[-1].isalpha() and right[0].isalpha():
        return draw(st.sampled_from(["·", "*"]))  # `x y` is refused: write x*y (a space between two letters)
    return joiner


def _joiner(left_node, right_node, left: str, right: str, draw) -> str:
    signed = isinstance(left_node, BinOp) and left_node.op == "**" and _signed_exponent(left_node.right)
    grouped = right.startswith("(")
    glueable_left = _glued_product_end(left_node) or left.endswith(")") and not isinstance(left_node, Call)
    if isinstance(right_node, Name) and right_node.id in LETTERS and not signed:
        if _glued_product_end(left_node):
            return draw(st.sampled_from(["", " "]))  # 2x, xy, 2xy; or 2 x
        return " "  # sin(x) y, (x + 1) y, x^2 y
    if grouped and not signed and glueable_left and not (isinstance(left_node, Name) and left_node.id not in LETTERS):
        return ""  # x(x+1), 2(x+1), (x+1)(y+1)
    if isinstance(right_node, Name) and signed:
        return " "  # x^-2 y: the space ends the exponent's term
    if isinstance(right_node, Call) and (_glued_product_end(left_node) or left.endswith(")")):
        return " "  # x sin(y), 2 cos(x)
    return draw(st.sampled_from(["·", "*", " * "]))


@settings(max_examples=examples(200), deadline=None)
@given(_signed_powers(), st.data())
def test_textbook_notation_reads_back_to_the_same_tree(text, data):
    try:
        tree = parse(text, variables=VARIABLES)
    except ParseError:  # the grammar can make a constant that is not a number, e.g. (1 - 1)**(-1)
        assume(False)
    written = textbook(tree, data.draw)
    assert parse(written, variables=VARIABLES) == tree, written


# ---------------------------------------------------------------- LaTeX

SPACES = ["", " ", r"\,", r"\;", r"\:", r"\!", r"\ ", r"\quad ", r"\qquad "]
BRACKETS = [(r"\left[", r"\right]"), ("[", "]"), (r"\left(", r"\right)"), ("(", ")"), (r"\bigl[", r"\bigr]")]
COMPARISONS = {"<": "<", ">=": r"\geq", "!=": r"\neq"}


def latex(node, draw, parent: int = 0) -> str:
    space = lambda: draw(st.sampled_from(SPACES))  # noqa: E731
    if isinstance(node, Num):
        return node.text
    if isinstance(node, Name):
        return r"\pi" if node.id == "pi" else node.id
    if isinstance(node, Call):
        args = f",{space()}".join(latex(a, draw) for a in node.args)
        if node.func == "sqrt":
            return rf"\sqrt{{{args}}}"
        if node.func == "abs":
            return rf"\left|{args}\right|"
        escaped = node.func.replace("_", r"\_")
        head = LATEX.get(node.func, rf"\operatorname{{{escaped}}}")
        return rf"{head}\left({args}\right)"
    if isinstance(node, Neg):
        return _group(f"-{latex(node.operand, draw, PRECEDENCE['neg'])}", parent >= PRECEDENCE["*"], draw)
    assert isinstance(node, BinOp)
    if node.op in COMPARISONS:
        return f"{latex(node.left, draw)} {COMPARISONS[node.op]} {latex(node.right, draw)}"
    mine = PRECEDENCE[node.op]
    if node.op == "/":
        return rf"\frac{{{latex(node.left, draw)}}}{{{latex(node.right, draw)}}}"
    if node.op == "**":
        return _group(f"{latex(node.left, draw, mine + 1)}^{{{latex(node.right, draw)}}}", mine <= parent, draw)
    left, right = latex(node.left, draw, mine), latex(node.right, draw, mine + 1)
    if node.op == "*":
        plain = isinstance(node.right, Name) and not isinstance(node.left, BinOp | Neg)
        joiner = draw(st.sampled_from([" ", r"\,", r"\;", r" \cdot ", r" \times "])) if plain else r" \cdot "
    else:
        joiner = f"{space()}{node.op}{space()}"
    return _group(f"{left}{joiner}{right}", mine < parent, draw)


def _group(text: str, needed: bool, draw) -> str:
    if not needed:
        return text
    opening, closing = draw(st.sampled_from(BRACKETS))
    return f"{opening}{text}{closing}"


@settings(max_examples=examples(200), deadline=None)
@given(_signed_powers(), st.data())
def test_latex_with_brackets_and_spacing_reads_back_to_the_same_tree(text, data):
    tree = parse(text, variables=VARIABLES)
    written = latex(tree, data.draw)
    assert parse(written, latex=True, variables=VARIABLES) == tree, written
