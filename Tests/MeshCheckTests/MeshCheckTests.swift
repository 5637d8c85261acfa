// Test target MeshCheckTests.
