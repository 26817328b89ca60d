"""Command line and settings for the Årsrapport question-answering project."""
