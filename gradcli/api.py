"""Deprecated: gradcli.api was the library's module before the pipeline folders; use `gradcli.grad` etc.

Kept for one release so that `from gradcli.api import grad` (and the other names the module had:
prepare, solve, Problem, ...) still works, with a DeprecationWarning. Not in gradcli.__all__.
"""

import warnings

warnings.warn(
    "gradcli.api is deprecated and will be removed in the next release: use gradcli.grad, gradcli.jacobian, ... "
    "(the names it had now live in gradcli.solve.gradient)",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str):
    # Lazily, so that importing the shim stays as light as importing gradcli.api used to be before TensorFlow.
    from gradcli.solve import gradient, problem

    return getattr(gradient if hasattr(gradient, name) else problem, name)
