"""Printed documents (reportlab): one module per document, shared fonts and styles."""
