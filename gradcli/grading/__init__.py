"""Is this answer right? The grader, its sample domain, steps, named mistakes and class files."""
