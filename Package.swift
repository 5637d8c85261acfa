// swift-tools-version:6.1
// meshcheck: verifies and measures cross-cluster load balancing in a multi-cluster service mesh.
// Dependencies point inward: the CLI depends on everything, pure cores (MeshStats) on nothing.
import PackageDescription

let package = Package(
    name: "meshcheck",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "meshcheck", targets: ["meshcheck"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        // Baseline for `make bench` only; no product of ours links it.
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", exact: "0.2.0"),
    ],
    targets: [
        // MARK: C libraries from Debian's -dev packages
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),

        // MARK: Pure cores
        .target(name: "MeshStats"),

        // MARK: Kubernetes client (libcurl + OpenSSL)
        .target(
            name: "KubeClient",
            dependencies: [
                "CCurl",
                "COpenSSL",
                .product(name: "Yams", package: "Yams"),
            ]
        ),

        // MARK: Simulated mesh
        // Processes, listeners and proxies that make simulated pods real: exec sessions, HelloWorld
        // backends, sidecar proxies, mesh routing.
        .target(
            name: "MeshSimRuntime",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // The API servers: TLS, authentication, object store, controllers, kubeconfig.
        .target(
            name: "MeshSim",
            dependencies: [
                "MeshSimRuntime",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),

        // MARK: The harness and its reports
        .target(
            name: "MeshCheck",
            dependencies: [
                "MeshStats",
                "KubeClient",
                "COpenSSL",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "MeshReports",
            dependencies: ["MeshCheck", "MeshStats"]
        ),

        // MARK: Executables
        .executableTarget(
            name: "meshcheck",
            dependencies: [
                "MeshCheck",
                "MeshReports",
                "MeshSim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "MeshBench",
            dependencies: [
                "MeshStats",
                "MeshCheck",
                "KubeClient",
                "MeshSim",
                "MeshSimRuntime",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),

        // MARK: Tests
        // Helpers every test target may share (temporary directories, child processes). Foundation only: no
        // production module, so any test target can depend on it.
        .target(name: "MeshTestSupport", path: "Tests/MeshTestSupport"),
        .testTarget(name: "MeshStatsTests", dependencies: ["MeshStats"]),
        .testTarget(name: "KubeClientTests", dependencies: ["KubeClient", "MeshSim", "MeshTestSupport"]),
        .testTarget(name: "MeshSimRuntimeTests", dependencies: ["MeshSimRuntime", "MeshTestSupport"]),
        .testTarget(name: "MeshSimTests", dependencies: ["MeshSim", "MeshSimRuntime", "MeshTestSupport"]),
        .testTarget(name: "MeshCheckTests", dependencies: ["MeshCheck", "MeshStats", "MeshSim", "MeshTestSupport"]),
        .testTarget(name: "MeshReportsTests", dependencies: ["MeshReports", "MeshCheck", "MeshTestSupport"], exclude: ["Golden"]),
        .testTarget(name: "EndToEndTests", dependencies: ["MeshSim", "MeshCheck", "KubeClient", "MeshTestSupport"]),
    ]
)
