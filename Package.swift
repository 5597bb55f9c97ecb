// swift-tools-version:6.0
import PackageDescription

// MARK: - The Swift runtime, linked statically in release builds
// A plain `swift build -c release` gives the library and the `trit` command that NEED only libc, libm,
// libstdc++ and libgcc_s, as the Makefile and the wheel do (Tests/integration/test_self_contained.py).
// Release only: a debug `swift test` links XCTest, which brings the toolchain's shared runtime, and two
// copies of the runtime in one process do not work.
let staticSwiftRuntime: LinkerSetting = .unsafeFlags(
    ["-static-stdlib"], .when(platforms: [.linux], configuration: .release)
)

// MARK: - Link settings of the shared library
// SwiftPM sets no SONAME, and exports every public symbol; the version script keeps
// only trit_*. The SONAME carries the ABI's major version: libtrit.so.0 (Makefile installs
// libtrit.so.0 and the development link libtrit.so → libtrit.so.0). Those are GNU ld / lld flags:
// Linux only. Apple's linker takes the install name (the SONAME's counterpart, found through the
// rpath) and an exported-symbols list (_trit_*) instead. (Not built here: no macOS SDK.)
let libraryLinkerSettings: [LinkerSetting] = [
    .unsafeFlags([
        "-Xlinker", "-soname=libtrit.so.0",
        "-Xlinker", "--version-script=Sources/TritC/exports.map",
    ], .when(platforms: [.linux])),
    .unsafeFlags([
        "-Xlinker", "-install_name", "-Xlinker", "@rpath/libtrit.0.dylib",
        "-Xlinker", "-exported_symbols_list", "-Xlinker", "Sources/TritC/exports.darwin",
    ], .when(platforms: [.macOS])),
    staticSwiftRuntime,
]

let package = Package(
    name: "trit",
    products: [
        // MARK: Public API
        .library(name: "trit", type: .dynamic, targets: ["TritC"]),
        .executable(name: "trit-cli", targets: ["trit-cli"]),
    ],
    targets: [
        // The public C header, as a Swift module (the single source of truth for the API).
        .systemLibrary(name: "CTrit", path: "Include"),

        // MARK: Implementation
        // Hot loops in C: one variant per ISA, chosen at run time; no -m flags.
        .target(
            name: "TritKernels",
            path: "Sources/TritKernels",
            cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]
        ),
        // The engine, in Swift, without Foundation.
        .target(
            name: "Trit",
            dependencies: ["TritKernels"],
            path: "Sources/Trit"
        ),
        // The @_cdecl skin: argument checks, handles, error translation.
        .target(
            name: "TritC",
            dependencies: ["Trit", "CTrit"],
            path: "Sources/TritC",
            exclude: ["exports.map", "exports.darwin"],
            linkerSettings: libraryLinkerSettings
        ),
        .executableTarget(
            name: "trit-cli",
            dependencies: ["Trit"],
            path: "Sources/trit-cli",
            swiftSettings: [.swiftLanguageMode(.v5)],
            linkerSettings: [staticSwiftRuntime]
        ),

        // MARK: Tests
        .testTarget(
            name: "TritTests",
            dependencies: ["Trit", "TritKernels", "TritC", "CTrit"],
            path: "Tests/TritTests",
            resources: []
        ),
    ]
)
