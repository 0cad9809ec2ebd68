"""The test suite (a package, so that benchmarks can import its harnesses from `tests.support`)."""
