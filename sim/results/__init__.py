"""Results: statistics, monthly bands, provenance and atomic writes of result folders."""
