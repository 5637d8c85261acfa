// Test target MeshStatsTests.
