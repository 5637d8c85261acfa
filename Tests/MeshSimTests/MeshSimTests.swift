// Test target MeshSimTests.
