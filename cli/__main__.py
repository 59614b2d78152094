"""``python -m nerveconduct_cli``: the same as the ``nerveconduct`` console script."""

from .main import main

main()
