"""The three applications that serve the benchmark surface (see ``benchmarks/README.md``)."""
