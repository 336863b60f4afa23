"""`python -m tierkit.cli`: the same as the `tierkit` command."""

from tierkit.cli.entry import main

main()
