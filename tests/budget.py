"""How hard the property tests search.

`make test` (and CI) runs the "ci" profile: derandomized, so every run tries the same
examples and a red build is reproducible, never a roll of the dice. `make fuzz` runs the
"fuzz" profile: fresh random examples, GRADCLI_FUZZ times as many, to find new bugs.
"""

import os

FACTOR = max(1, int(os.environ.get("GRADCLI_FUZZ", "1")))


def examples(n: int) -> int:
    return n * FACTOR
