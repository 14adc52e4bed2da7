"""The command line: argv to exit code. Nothing imports it."""
