// Test target MeshReportsTests.
