"""Console entry point (placeholder until the CLI issue lands)."""
import click


@click.group()
def main() -> None:
    """nerveconduct command line."""
