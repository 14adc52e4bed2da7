"""grad --points: the gradient at every row of a CSV, streamed chunk by chunk."""

from __future__ import annotations

import typer

from gradcli.app import options as o
from gradcli.errors import GradcliError


def run(env, expression, source, const, wrt, watch, output, dtype, on_error, chunk_size) -> None:
    from gradcli.present.render import ChunkWriter, PointsProgress
    from gradcli.solve import points as many

    if output.value not in ("csv", "jsonl", "plain"):
        raise GradcliError("--points writes csv, jsonl or plain: add --format csv (or jsonl, plain)")
    if not 1 <= chunk_size <= many.MAX_CHUNK:
        raise GradcliError(f"--chunk-size must be between 1 and {many.MAX_CHUNK}")
    if source == "-" and env.stdin_used:
        raise GradcliError("the expression and --points cannot both come from stdin: give one of them as a file")
    label = "stdin" if source == "-" else source
    header, blocks = many.read_points(env.open(source), chunk_size)
    problem = many.prepare_points(
        expression, header, o.constants(const), o.names_or_none(wrt), o.split_names(watch), dtype.value, env.from_latex
    )
    writer = ChunkWriter(output.value, env.stdout, problem.variables, problem.differentiated, env.stderr, label)
    bad, statuses = 0, set()
    with PointsProgress(env.stderr) as progress:
        for item in many.grad_points(problem, header, blocks):
            if isinstance(item, many.BadRow):
                bad += 1
                env.stderr.write(f"error: {label} line {item.line}: {item.message}\n")
                if on_error == o.OnError.stop:
                    break
                continue
            writer.write(item)
            statuses.update(item.status.tolist())
            progress.advance(len(item))
    raise typer.Exit(many.exit_code(bad, statuses))
