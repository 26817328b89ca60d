"""Parse the report into chapters, prose passages and tables; chunk, embed and store."""
