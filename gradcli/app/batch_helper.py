"""A helper process of `gradcli batch --jobs N`: `python -m gradcli.app.batch_helper`.

gradcli.runtime.jobs starts it and hands it problems; it answers each with the batch command's own
`answer_line`, so a line's answer is the same whichever process gives it.
"""

from __future__ import annotations


def main() -> None:
    import functools

    from gradcli.app.commands.batch import answer_line
    from gradcli.app.main import RUNNER
    from gradcli.app.serve_worker import warm_imports
    from gradcli.runtime import jobs

    jobs.serve(functools.partial(answer_line, runner=RUNNER), warm_imports)


if __name__ == "__main__":
    main()
