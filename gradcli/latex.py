"""LaTeX in (stub)."""


def is_latex(text: str) -> bool:
    return False


def tokens(text: str):
    raise NotImplementedError
