"""How a question is posed, beside its expression and points: every option of grad, jacobian, hessian, jvp,
vjp, --points and descend, held once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gradcli.lang.parser import CustomSpec
from gradcli.witnesses.clip import Clip


@dataclass(frozen=True)
class Options:
    """The options of one question; `prepare` checks them against the expression and the points.

    `from_latex` reads the expression (and --custom bodies) as LaTeX, as --from-latex asks; point values and
    constants are never read as LaTeX. `vector_output`, `several`, `unconnected` and `integers` are the
    tape's own answers that only some commands pose (jacobian's tensors; grad's summed targets, unconnected
    sources and int32)."""

    const: Mapping[str, object] | None = None
    wrt: tuple[str, ...] | None = None
    watch: tuple[str, ...] = ()
    dtype: str = "float64"
    order: int = 1
    clip: Clip | None = None
    stop: tuple[str, ...] = ()
    of: tuple[str, ...] = ()
    persistent: bool = False
    custom: tuple[str | CustomSpec, ...] = ()
    from_latex: bool = False
    vector_output: bool = False
    several: bool = False
    unconnected: str | None = None
    integers: bool = False

    def __post_init__(self):
        for name in ("watch", "stop", "of", "custom"):  # any iterable a caller gives, held as a tuple
            object.__setattr__(self, name, _tuple(getattr(self, name)))
        if self.wrt is not None:
            object.__setattr__(self, "wrt", _tuple(self.wrt))


def _tuple(items: Iterable | None) -> tuple:
    return tuple(items or ())
