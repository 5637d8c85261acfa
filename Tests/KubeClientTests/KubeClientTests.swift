// Test target KubeClientTests.
