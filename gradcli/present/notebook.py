"""Jupyter: results as HTML tables and LaTeX, registered with IPython's display formatters.

The result classes are plain data and import nothing from here: `import gradcli` calls register()
when it runs inside IPython, and IPython then calls html() and latex() for each result it displays.
HTML is built with html.escape, never from unescaped user text. sympy is imported only by latex(),
and only for the formulas.
"""

from __future__ import annotations

from html import escape

from gradcli.judge.explain import fmt

AGREE = "color:#1a7f37;font-weight:bold"
WRONG = "color:#cf222e;font-weight:bold"
UNDEFINED = "color:#9a6700;font-weight:bold"
STATUS_STYLE = {"agree": AGREE, "disagree": WRONG, "not differentiable": UNDEFINED}
VERDICT_STYLE = {"correct": AGREE, "wrong": WRONG, "undecided": UNDEFINED}


def _table(caption: str, header: list[str], rows: list[list[str]]) -> str:
    """rows hold HTML already (escaped by the caller)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return (
        f'<table class="gradcli"><caption style="text-align:left">{caption}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _point(at: dict) -> str:
    return escape(", ".join(f"{name} = {fmt(v)}" for name, v in at.items()))


def _mark(agree: bool) -> str:
    return f'<span style="{AGREE}">yes</span>' if agree else f'<span style="{WRONG}">NO</span>'


def _notes(results) -> str:
    items = [
        f"<li><i>{escape(note.severity)}</i> at {_point(r.at)}: {escape(note.message)}</li>"
        for r in results
        for note in r.notes
    ]
    return f"<ul>{''.join(items)}</ul>" if items else ""


def _status(result) -> str:
    status = f'<span style="{STATUS_STYLE[result.status]}">{escape(result.status)}</span>'
    return f"<p>status: {status} (exit {int(result.exit_code)})</p>"


def grad_html(result) -> str:
    rows = []
    for point in result.results:
        where = _point(point.at) + (f"; of {escape(point.of)}" if point.of else "")
        for i, p in enumerate(point.gradient):
            tape = fmt(p.tape) if p.watched else "not watched (constant)"
            rows.append(
                [
                    where if i == 0 else "",
                    escape(fmt(point.value)) if i == 0 else "",
                    escape(p.name),
                    escape(tape),
                    f"<code>{escape(p.symbolic)}</code>",
                    escape(fmt(p.exact)),
                    escape(fmt(p.finite_difference)),
                    _mark(p.agree),
                ]
            )
    power = "" if result.order == 1 else str(result.order)
    header = ["point", "f", f"∂{power}f/∂{power}", "GradientTape", "symbolic", "exact", "finite diff.", "agree"]
    caption = f"f = <code>{escape(result.expression)}</code>" + (f", order {power}" if power else "")
    return _table(caption, header, rows) + _notes(result.results) + _status(result)


def matrix_html(result) -> str:
    rows = []
    for point in result.results:
        for n, (i, j) in enumerate((i, j) for i in range(len(result.rows)) for j in range(len(result.columns))):
            row, column = result.rows[i], result.columns[j]
            label = f"∂({row})/∂{column}" if result.kind == "jacobian" else f"∂²f/∂{row}∂{column}"
            rows.append(
                [
                    _point(point.at) if n == 0 else "",
                    escape(label),
                    escape(fmt(point.tape[i][j])),
                    f"<code>{escape(point.symbolic[i][j])}</code>",
                    escape(fmt(point.exact[i][j])),
                    escape(fmt(point.finite_difference[i][j])),
                    _mark(point.agree_each[i][j]),
                ]
            )
    header = ["point", "entry", "GradientTape", "symbolic", "exact", "finite diff.", "agree"]
    caption = f"{result.kind.capitalize()} of f = <code>{escape(result.expression)}</code>"
    return _table(caption, header, rows) + _notes(result.results) + _status(result)


def check_html(result) -> str:
    rows = [
        ["your answer", f"<code>{escape(result.answer)}</code>"],
        ["the derivative", f"<code>{escape(result.derivative)}</code>"],
        ["how", escape(f"{result.method}: {result.reason}")],
    ]
    if result.counterexample:
        c = result.counterexample
        rows.append(
            [
                "counterexample",
                f"at {_point(c['at'])} your answer gives {escape(fmt(c['answer']))}; "
                f"the derivative is {escape(fmt(c['derivative']))}",
            ]
        )
    what = f"d/d{result.wrt[0]}" if len(result.wrt) == 1 else f"the gradient ({', '.join(result.wrt)})"
    verdict = f'<span style="{VERDICT_STYLE[result.verdict]}">{escape(result.verdict.upper())}</span>'
    caption = f"{verdict}: {escape(what)} of <code>{escape(result.expression)}</code>"
    return _table(caption, ["", ""], rows)


def _named(values: dict) -> str:
    return escape(", ".join(f"{n} = {fmt(v)}" for n, v in values.items()))


def run_html(run) -> str:
    from gradcli.present.descent import _selected

    clipped = run.clip is not None
    header = ["step", "loss", "parameters", "gradient", *(["clipped gradient"] if clipped else [])]
    rows = [
        [
            str(s.step),
            escape(fmt(s.loss)),
            _named(s.params),
            _named(s.gradient),
            *([_named(s.clipped)] if clipped else []),
        ]
        for s in _selected(run.history)
    ]
    caption = f"descend f = <code>{escape(run.expression)}</code> ({escape(run.optimizer)}, lr {run.lr:g})"
    style = UNDEFINED if run.stopped == "diverged" else AGREE
    final = f"<p>final: {_named(run.final.params)}, loss {escape(fmt(run.final.loss))}; "
    return _table(caption, header, rows) + final + f'stopped: <span style="{style}">{escape(run.reason)}</span></p>'


# ---------------------------------------------------------------- LaTeX


def _number(value) -> str:
    if isinstance(value, list):
        return r"\left[" + ", ".join(_number(v) for v in value) + r"\right]"
    mantissa, e, exponent = fmt(value).partition("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}" if e else mantissa


def _text(text: str) -> str:
    """Text safe inside LaTeX's \\text{...}."""
    specials = {"\\": r"\textbackslash{}", "_": r"\_", "^": r"\^{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%"}
    specials.update({"$": r"\$", "#": r"\#", "~": r"\~{}"})
    return "".join(specials.get(c, c) for c in text)


def _formulas(expression: str, names, order: int = 1) -> tuple[str, dict[str, str]] | None:
    """LaTeX of f and of each derivative, from gradcli's own tree; None where there is no short formula."""
    import sympy

    from gradcli.errors import GradcliError
    from gradcli.lang.parser import inline, parse_program
    from gradcli.lang.tree import Custom, ListOf, free_names, walk
    from gradcli.witnesses.symbolic import Symbolic

    try:
        tree = list(inline(parse_program(expression)).values())[-1]
        if any(isinstance(n, ListOf | Custom) for n in walk(tree)):
            return None
        symbolic = Symbolic(tree, {n: () for n in free_names(tree)})
        return sympy.latex(symbolic.f), {n: sympy.latex(symbolic.derivative(n, order)) for n in names}
    except (GradcliError, TypeError, ValueError):
        return None


def grad_latex(result) -> str | None:
    if result.targets or result.customs:
        return None
    values = [*result.constants.values(), *(v for r in result.results for v in r.at.values())]
    if any(isinstance(v, list) for v in values):  # tensors: sympy's scalar formula would be wrong
        return None
    formulas = _formulas(result.input, result.wrt, result.order)
    if formulas is None:
        return None
    f, derivatives = formulas
    k = "" if result.order == 1 else f"^{{{result.order}}}"
    lines = [f"f &= {f}"]
    for name in result.wrt:
        d = rf"\frac{{\partial{k} f}}{{\partial {sympy_name(name)}{k}}}"
        at = [(r, p) for r in result.results for p in r.gradient if p.name == name]
        if all(_value(r, p) == derivatives[name] for r, p in at):  # a constant derivative: say it once
            lines.append(f"{d} &= {derivatives[name]}")
            continue
        values = ", ".join(f"{_value(r, p)}\\ ({_at(r.at)})" for r, p in at)
        lines.append(f"{d} &= {derivatives[name]} = {values}")
    return "$\\begin{aligned}" + r" \\ ".join(lines) + "\\end{aligned}$"


def _value(point, partial) -> str:
    """The exact value, unless the judge found that this derivative does not exist here."""
    undefined = [n for n in point.notes if n.severity == "undefined" and n.variable in (partial.name, None)]
    return r"\text{undefined (see the notes)}" if undefined else _number(partial.exact)


def sympy_name(name: str) -> str:
    import sympy

    return sympy.latex(sympy.Symbol(name))


def _at(at: dict) -> str:
    return ", ".join(f"{sympy_name(n)} = {_number(v)}" for n, v in at.items())


def matrix_latex(result) -> str:
    symbol = "J" if result.kind == "jacobian" else "H"
    parts = []
    for point in result.results:
        body = r" \\ ".join(" & ".join(_number(v) for v in row) for row in point.tape)
        parts.append(f"{symbol}({_at(point.at)}) = \\begin{{bmatrix}}{body}\\end{{bmatrix}}")
    return "$" + r",\quad ".join(parts) + "$"


def check_latex(result) -> str | None:
    if result.latex:
        f, derivatives = result.latex["function"], result.latex["derivatives"]
    else:
        formulas = _formulas(result.expression, result.wrt)
        if formulas is None:
            return None
        f, derivatives = formulas
    lines = [f"f &= {f}"]
    lines += [rf"\frac{{\partial f}}{{\partial {sympy_name(n)}}} &= {derivatives[n]}" for n in result.wrt]
    lines.append(rf"\text{{your answer}} &= \text{{{_text(result.answer)}: {result.verdict}}}")
    return "$\\begin{aligned}" + r" \\ ".join(lines) + "\\end{aligned}$"


# ---------------------------------------------------------------- registration

# (module, class) -> its HTML and LaTeX makers; subclasses (ProductResult) are displayed as their base.
DISPLAYS = {
    ("gradcli.results.gradient", "GradResult"): (grad_html, grad_latex),
    ("gradcli.results.gradient", "MatrixResult"): (matrix_html, matrix_latex),
    ("gradcli.results.grading", "CheckResult"): (check_html, check_latex),
    ("gradcli.results.descent", "Run"): (run_html, None),
}


def _makers(result) -> tuple:
    for cls in type(result).__mro__:
        makers = DISPLAYS.get((cls.__module__, cls.__name__))
        if makers is not None:
            return makers
    raise TypeError(f"{type(result).__name__} has no notebook display")


def html(result) -> str:
    """The HTML table a notebook shows for a gradcli result."""
    return _makers(result)[0](result)


def latex(result) -> str | None:
    """The LaTeX a notebook shows for a gradcli result; None where there is no short formula."""
    maker = _makers(result)[1]
    return None if maker is None else maker(result)


def register(shell) -> None:
    """Teach an IPython shell to display gradcli's results, by class name, so no result class is imported."""
    formatters = shell.display_formatter.formatters
    for (module, name), (_, latex_maker) in DISPLAYS.items():
        formatters["text/html"].for_type_by_name(module, name, html)
        if latex_maker is not None:
            formatters["text/latex"].for_type_by_name(module, name, latex)
