"""What is checked: the expression (or the implicit curve F = 0), the answer, and the derivatives the answer
is to equal, parsed, shaped and matched to each other."""

from __future__ import annotations

import math
from dataclasses import dataclass

from gradcli.errors import LimitError, ParseError, PointError
from gradcli.lang.parser import inline, operator_wrt, parse, parse_program, parse_reading
from gradcli.lang.printers import to_text
from gradcli.lang.tree import BinOp, ListOf, free_names
from gradcli.lang.values import parse_value

CONSTANTS = ("C", "K", "c")  # the names students give an antiderivative's constant


class ConstantOfIntegration(Exception):
    """The answer has a `+ C`: the grader judges the rest and names the mistake (check.py)."""

    def __init__(self, name: str, tree, from_latex: bool, reading: tuple = ()):
        from gradcli.lang.printers import to_latex
        from gradcli.lang.tree import Num, substitute

        super().__init__(name)
        self.name = name
        self.answer = to_text(tree)
        self.reading = reading  # how the whole answer was read
        self.additive = _added_once(tree, name)
        rest = substitute(tree, {name: Num("0", 0.0, 0)})
        self.without = to_latex(rest) if from_latex else to_text(rest)


def _added_once(tree, name: str) -> bool:
    """Is `name` one term of the answer's top-level sum, and nowhere else? (2x + C, not C*x)"""
    from gradcli.lang.tree import Name, walk

    terms, stack = [], [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, BinOp) and node.op in "+-":
            stack += [node.left, node.right]
        else:
            terms.append(node)
    uses = sum(isinstance(n, Name) and n.id == name for n in walk(tree))
    return uses == 1 and any(isinstance(t, Name) and t.id == name for t in terms)


@dataclass
class _Problem:
    """What is checked: the target derivatives and the answers, flat, with the shape they are shown in."""

    tree: object
    names: list[str]
    wrt: list[str]
    symbolic: object
    targets: list
    answer_trees: list
    answers: list
    shape: tuple
    kind: str
    curve: object = None  # F for an implicit curve F = 0
    implicit: str | None = None
    order: int = 1
    reading: tuple = ()  # of lang.notation.Note: how the expression was read where it could surprise
    answer_reading: tuple = ()  # and how the answer was

    def base(self) -> dict:
        return {
            "expression": to_text(self.tree) + (" = 0" if self.curve is not None else ""),
            "answer": _shaped_text([to_text(a) for a in self.answer_trees], self.shape),
            "wrt": tuple(self.wrt),
            "derivative": _shaped_text([_sstr(t) for t in self.targets], self.shape),
            "kind": self.kind,
            "order": 2 if self.kind == "hessian" else self.order,
            "tree": self.tree,
            "reading": tuple(self.reading),
            "answer_reading": tuple(self.answer_reading),
        }


def _problem(expression, answer, wrt, order, implicit, direction, from_latex) -> _Problem:
    from gradcli.witnesses.symbolic import Symbolic

    if not 1 <= order <= 4:
        raise PointError("--order must be between 1 and 4")
    curve = None
    if implicit is not None:
        tree = curve = _equation(expression, from_latex)
        reading = equation_reading(expression, from_latex)
    else:
        program = _program(expression, from_latex)
        tree, reading = list(inline(program).values())[-1], program.notes
        wrt = list(operator_wrt(program, wrt) or [])
    answer_trees, shape, answer_reading = _answers(answer, from_latex, free_names(tree))
    names = sorted(free_names(tree))
    if not names:  # a constant: the variable comes from --wrt or from the answer
        from gradcli.lang.values import check_name

        for name in wrt or []:
            check_name(name)
        names = sorted(set(wrt or []) | set().union(*(free_names(a) for a in answer_trees))) or ["x"]
    if implicit is not None:
        if implicit not in names:
            raise PointError(f"--implicit {implicit}: '{implicit}' is not in the equation ({', '.join(names)})")
        independent = [n for n in names if n != implicit]
        if not independent:
            raise PointError("an implicit curve needs a second variable, e.g. x^2 + y^2 = 25 with --implicit y")
        wrt = list(wrt or independent)
        if implicit in wrt:
            raise PointError(f"--implicit {implicit}: differentiate {implicit} with respect to the other variables")
    wrt = list(wrt or names)
    for name in wrt:
        if name not in names:
            raise PointError(f"--wrt {name}: '{name}' is not in the expression ({', '.join(names)})")
    unknown = sorted(set().union(*(free_names(a) for a in answer_trees)) - set(names))
    if len(unknown) == 1 and unknown[0] in CONSTANTS and shape == ():
        raise ConstantOfIntegration(unknown[0], answer_trees[0], from_latex, answer_reading)
    if unknown:
        raise ParseError(f"in the answer: {', '.join(unknown)} is not a variable of the expression")
    symbolic = Symbolic(tree, {n: () for n in names})
    answers = [_sympy_of(a, symbolic) for a in answer_trees]
    kind, targets, expected = _targets(symbolic, wrt, order, implicit, direction, shape)
    if shape != expected:
        raise PointError(_shape_message(shape, expected, wrt, kind))
    return _Problem(
        tree, names, wrt, symbolic, targets, answer_trees, answers, shape, kind, curve, implicit, order,
        reading, answer_reading,
    )  # fmt: skip


def _targets(symbolic, wrt, order, implicit, direction, shape):
    """(kind, flat list of sympy derivatives, expected answer shape)."""
    import sympy

    s = symbolic.symbols
    f = symbolic.f
    if direction is not None:
        if implicit is not None or order != 1:
            raise PointError("--direction is a first derivative of a function; leave out --implicit and --order")
        u = _direction(direction, wrt)
        return "directional", [sympy.Add(*(c * sympy.diff(f, s[n]) for c, n in zip(u, wrt, strict=True)))], ()
    if implicit is not None:
        y = s[implicit]
        slopes = [-sympy.diff(f, s[n]) / sympy.diff(f, y) for n in wrt]
        if order == 1:
            return "implicit", slopes, () if len(wrt) == 1 else (len(wrt),)
        if len(wrt) != 1:
            raise PointError("--order 2 with --implicit needs one independent variable")
        derivative = slopes[0]
        for _ in range(order - 1):
            derivative = sympy.diff(derivative, s[wrt[0]]) + sympy.diff(derivative, y) * slopes[0]
        return "implicit", [derivative], ()
    if len(shape) == 2 or (order == 2 and len(wrt) > 1):
        if order > 2:
            raise PointError("a matrix answer is the Hessian: --order 2")
        return "hessian", [sympy.diff(f, s[a], s[b]) for a in wrt for b in wrt], (len(wrt), len(wrt))
    if order > 1:
        if len(wrt) != 1:
            raise PointError(f"--order {order} needs one variable: add --wrt")
        return "derivative", [sympy.diff(f, s[wrt[0]], order)], ()
    derivatives = [symbolic.derivative(n) for n in wrt]
    return ("derivative" if len(wrt) == 1 else "gradient"), derivatives, () if len(wrt) == 1 else (len(wrt),)


def _direction(direction, wrt):
    import sympy

    if len(direction) != len(wrt):
        raise PointError(
            f"--direction has {len(direction)} component(s) but there are {len(wrt)} variable(s) ({', '.join(wrt)})"
        )
    values = [parse_value(text, "--direction") for text in direction]
    if any(v.shape for v in values):
        raise PointError("--direction takes numbers, e.g. --direction 1,1")
    from gradcli.witnesses.symbolic import exact_value

    vector = [exact_value(v) for v in values]
    norm = sympy.sqrt(sum(c**2 for c in vector))
    if norm == 0:
        raise PointError("--direction must not be the zero vector")
    return [c / norm for c in vector]


def _shape_message(shape, expected, wrt, kind) -> str:
    parts = math.prod(shape) if shape else 1
    needed = math.prod(expected) if expected else 1
    if kind == "hessian":
        return f"the Hessian in {', '.join(wrt)} is a {expected[0]}x{expected[1]} matrix [[...], [...]]"
    hint = ""
    if parts == 1 and needed == 2:
        hint = " (for dy/dx of an implicit curve F(x, y) = 0, add --implicit y)"
    return (
        f"the answer has {parts} part(s) but there are {needed} derivative(s) to check "
        f"(with respect to {', '.join(wrt)}): give a list in that order, or --wrt{hint}"
    )


def _target(expression: str, from_latex: bool = False):
    steps = inline(_program(expression, from_latex))
    return steps[list(steps)[-1]]


def _program(expression: str, from_latex: bool = False):
    try:
        return parse_program(expression, latex=from_latex)
    except ParseError as exc:
        if _sides(expression) is not None:
            raise ParseError(
                "an equation checks an implicit derivative: add --implicit NAME, e.g. --implicit y"
            ) from exc
        raise


def _sides(text: str):
    """The two sides of 'left = right' (one '=', not part of ==, <=, >=, !=), else None."""
    positions = [i for i, c in enumerate(text) if c == "=" and text[i - 1 : i] not in ("=", "<", ">", "!")]
    positions = [i for i in positions if text[i + 1 : i + 2] != "="]
    if len(positions) != 1:
        return None
    return text[: positions[0]], text[positions[0] + 1 :]


def _equation(expression: str, from_latex: bool = False):
    """F = left - right for 'left = right', or the expression itself (F = 0)."""
    sides = _sides(expression)
    if sides is None:
        return _target(expression, from_latex)
    left, right = (_side(part, name, from_latex) for part, name in zip(sides, ("left", "right"), strict=True))
    return BinOp("-", left, right)


def equation_reading(expression: str, from_latex: bool = False, variables: frozenset[str] | None = None) -> tuple:
    """The reading notes of a text, and of an equation's sides (`sinx + y^2 = 25`), which the whole does
    not parse as."""
    from gradcli.lang.parser import reading_notes

    notes = reading_notes(expression, latex=from_latex, variables=variables)
    sides = _sides(expression)
    if notes or sides is None:
        return tuple(notes)
    return tuple(note for side in sides for note in reading_notes(side, latex=from_latex, variables=variables))


def _side(text: str, which: str, from_latex: bool):
    if not text.strip():
        raise ParseError(f"the {which} side of the equation is empty")
    try:
        return parse(text, latex=from_latex)
    except (ParseError, LimitError) as exc:
        raise type(exc)(f"in the {which} side of the equation: {exc.message}", exc.column, exc.hint) from exc


def _answers(answer: str, from_latex: bool, variables: frozenset[str] | None = None):
    """The answer's parts (flat), its shape: () a scalar, (n,) a list, (n, n) a matrix, and its reading
    notes. The answer's names are the problem's variables: xy in an answer to a problem in x and y is x*y."""
    if not answer.strip():
        raise ParseError("the answer is empty")
    try:
        tree, notes = parse_reading(answer, allow_lists=True, latex=from_latex, variables=variables or None)
    except (ParseError, LimitError) as exc:
        raise type(exc)(f"in the answer: {exc.message}", exc.column, exc.hint) from exc
    notes = tuple(notes)
    if not isinstance(tree, ListOf):
        return [tree], (), notes
    rows = list(tree.items)
    if not any(isinstance(r, ListOf) for r in rows):
        return rows, (len(rows),), notes
    if not all(isinstance(r, ListOf) for r in rows) or len({len(r.items) for r in rows}) != 1:
        raise ParseError("in the answer: a matrix is a list of rows of equal length, e.g. [[2, 0], [0, 2]]")
    if any(isinstance(i, ListOf) for r in rows for i in r.items):
        raise ParseError("in the answer: a gradient is a list and a Hessian a matrix; nothing deeper")
    return [i for r in rows for i in r.items], (len(rows), len(rows[0].items)), notes


def _shaped(values: list, shape: tuple):
    if not shape:
        return values[0]
    if len(shape) == 1:
        return list(values)
    return [list(values[i * shape[1] : (i + 1) * shape[1]]) for i in range(shape[0])]


def _shaped_text(texts: list[str], shape: tuple) -> str:
    shaped = _shaped(texts, shape)
    if not shape:
        return shaped
    if len(shape) == 1:
        return "[" + ", ".join(shaped) + "]"
    return "[" + ", ".join("[" + ", ".join(row) + "]" for row in shaped) + "]"


def _sstr(expr) -> str:
    import sympy

    return sympy.sstr(expr)


def _sympy_of(tree, symbolic):
    from gradcli.lang.tree import evaluate
    from gradcli.witnesses.symbolic import SympyBackend

    return evaluate(tree, symbolic.symbols, SympyBackend())
