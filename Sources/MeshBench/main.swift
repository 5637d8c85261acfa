// MeshBench: `make bench` entry point (filled by the statistics core).
