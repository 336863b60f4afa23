"""The version of tierkit, importable from any layer (manifests, the API, the CLI)."""

__version__ = "0.1.0"
