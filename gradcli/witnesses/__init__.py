"""One tree, independent witnesses of f and f': the tape (TensorFlow), sympy, float64 numerics, other frameworks."""
