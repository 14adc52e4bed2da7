"""Text to one checked tree: tokens, textbook and LaTeX readers, parser, printers, values (standard library only)."""
