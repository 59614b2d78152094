"""The ``nerveconduct`` command line (installed as the package ``nerveconduct_cli``).

A thin click shell over the library's public functions: one module per command group,
registered in :data:`nerveconduct_cli.main.COMMAND_MODULES`. See ``docs/cli.md``.
"""
