"""Demo data: the synthetic shop generator, the CDNOW loader and the raw-file writer they share."""
