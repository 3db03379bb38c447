"""PDF ingestion: :func:`extract_pdf` turns a research-paper PDF into a Document."""
from mechcode.ingest.batch import extract_many
from mechcode.ingest.extract import extract_pdf

__all__ = ["extract_pdf", "extract_many"]
