"""mechcode: NLP-assisted mechanism coding for realist reviews."""

__version__ = "0.1.0"
