"""`python -m sphere` runs the same CLI as the `sphere` console script."""

from sphere.cli import main

main()
