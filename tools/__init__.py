"""Developer tools outside the product's stages: the synthetic book generator and the benchmarks."""
