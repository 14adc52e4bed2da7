"""gradcli: gradients three ways, TensorFlow's GradientTape beside sympy and finite differences."""

__version__ = "0.1.0"
__all__ = ["__version__", "grad", "hessian", "jacobian", "jvp", "vjp"]


def __getattr__(name: str):
    # The library API is loaded on first use so that `gradcli --help` stays light.
    if name == "grad":
        from gradcli.solve.gradient import grad

        return grad
    if name in ("jacobian", "hessian"):
        from gradcli.solve import matrix

        return getattr(matrix, name)
    if name in ("jvp", "vjp"):
        from gradcli.solve import products

        return getattr(products, name)
    raise AttributeError(name)
