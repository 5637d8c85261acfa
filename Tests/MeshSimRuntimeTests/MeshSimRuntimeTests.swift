// Test target MeshSimRuntimeTests.
