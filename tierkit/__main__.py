"""`python -m tierkit`: the same as the `tierkit` command."""

from tierkit.cli.entry import main

main()
