"""What each ``post-bench`` command does (run, validate, report, compare, audit, bench, ls, the dry run):
``cli.py`` only wires click options to these functions. A command returns its exit code (0 ok, 1 internal error,
3 a gate failed) or raises ``UserInputError`` (exit 2)."""
