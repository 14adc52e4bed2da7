"""gradcli: gradients three ways, TensorFlow's GradientTape beside sympy and finite differences."""

__version__ = "0.1.0"
__all__ = ["__version__", "grad"]


def __getattr__(name: str):
    # The library API is loaded on first use so that `gradcli --help` stays light.
    if name == "grad":
        from gradcli.api import grad

        return grad
    raise AttributeError(name)
