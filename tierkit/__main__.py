"""`python -m tierkit`: the same as the `tierkit` command."""

from tierkit.cli.app import main

main()
