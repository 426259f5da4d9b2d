"""Sub-commands of ``python -m crossview``; one module each, with ``register(subparsers)``."""
