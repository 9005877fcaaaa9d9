"""The benchmark surface written against Loom's public API (see ``loom_bench_app``)."""
