"""Gradio chat that shows its sources."""
