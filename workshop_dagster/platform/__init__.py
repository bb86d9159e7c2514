"""Code that subclasses, patches or works around Dagster's internals: see README.md here."""
