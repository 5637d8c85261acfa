// Certificates for the preflight tests, made once with
// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days N -subj ...`;
// their fingerprints, subjects and expiry dates below are what `openssl x509 -noout -fingerprint -sha256
// -subject -enddate` printed for them.

import XCTest

@testable import MeshCheck

enum TestCertificates {
    /// O=cluster.local, CN=Istio Mesh Root CA; notAfter 2036-11-20 12:13:13 UTC (UTCTime).
    static let meshRoot = """
        -----BEGIN CERTIFICATE-----
        MIIBvzCCAWWgAwIBAgIUe+cXS1WZo7NOYjR6NLAzFeMNoY4wCgYIKoZIzj0EAwIw
        NTEWMBQGA1UECgwNY2x1c3Rlci5sb2NhbDEbMBkGA1UEAwwSSXN0aW8gTWVzaCBS
        b290IENBMB4XDTI2MTEyMzEyMTMxM1oXDTM2MTEyMDEyMTMxM1owNTEWMBQGA1UE
        CgwNY2x1c3Rlci5sb2NhbDEbMBkGA1UEAwwSSXN0aW8gTWVzaCBSb290IENBMFkw
        EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENrDnWogPGwXN5YDBVCgopesVZIitHdYt
        m1ESBN5ZS9kt0uB+FmKBJKA+mMvNJSEGs/7hXZvaT6Y3DoTf1JTTbqNTMFEwHQYD
        VR0OBBYEFCR7Htoc8uXJeDtRK5Mooby57Z/hMB8GA1UdIwQYMBaAFCR7Htoc8uXJ
        eDtRK5Mooby57Z/hMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIh
        AM3s7mw+b5cCinfLtfdumrIaOfMPdxqIsM1rTLshTtKnAiBFlMJO1Rx5luKAKvSz
        2pKylWV2j5GvbbNz3uq4CHqawg==
        -----END CERTIFICATE-----
        """
    static let meshRootSHA256 = "4de06d3a681e6e3590a6877f82261d16cd01107cfca361631e05d9fa3c602ea3"
    static let meshRootNotAfter = 2_110_795_993.0

    /// Same subject, another key: what a cluster with its own self-signed root publishes.
    static let otherRoot = """
        -----BEGIN CERTIFICATE-----
        MIIBvzCCAWWgAwIBAgIUFb3X/kETfXsy5/j1kcOkKCHzQrEwCgYIKoZIzj0EAwIw
        NTEWMBQGA1UECgwNY2x1c3Rlci5sb2NhbDEbMBkGA1UEAwwSSXN0aW8gTWVzaCBS
        b290IENBMB4XDTI2MTEyMzEyMTMxM1oXDTM2MTEyMDEyMTMxM1owNTEWMBQGA1UE
        CgwNY2x1c3Rlci5sb2NhbDEbMBkGA1UEAwwSSXN0aW8gTWVzaCBSb290IENBMFkw
        EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEKdW6+4eDIs2HeaIJtweOVHnapLD+u4Vb
        ptKbgNwVzr7g2q56+fnbNn+aBOsYwiOhjo7oshZCZ9/eUrucrEFcBqNTMFEwHQYD
        VR0OBBYEFNFV0Ogk8TofRRlur32YmgQ5DXBLMB8GA1UdIwQYMBaAFNFV0Ogk8Tof
        RRlur32YmgQ5DXBLMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIh
        APFBfa8avIlB4OxhXtqbu5Jq20mIU6esM9osGJI/lbrgAiANY75LfXBS6pzKulO0
        pmzZbIIlej2ap3Qb3hFbhQekgw==
        -----END CERTIFICATE-----
        """
    static let otherRootSHA256 = "801f5c6b93384e3144d6570dc22bc8512b6ed37dfb460870c5c9a653006b827e"

    /// CN=far future; notAfter 2136-05-30 12:13:13 UTC (GeneralizedTime, as RFC 5280 requires after 2049).
    static let farFuture = """
        -----BEGIN CERTIFICATE-----
        MIIBgjCCASegAwIBAgIUGoTXM+fxnHgQeW1zERjYZjLZTYcwCgYIKoZIzj0EAwIw
        FTETMBEGA1UEAwwKZmFyIGZ1dHVyZTAgFw0yNjExMjMxMjEzMTNaGA8yMTM2MDUz
        MDEyMTMxM1owFTETMBEGA1UEAwwKZmFyIGZ1dHVyZTBZMBMGByqGSM49AgEGCCqG
        SM49AwEHA0IABGXvYQ568bzsUP0ByYEh0CjuAM/+hQvABLk+4wtziWA9AW4kOUyn
        05F2AZ0gh/CxyPPOc/kmHu93uP7q2R2MtNmjUzBRMB0GA1UdDgQWBBRzZqc3z48C
        bCniDBiDdWdT30WZRDAfBgNVHSMEGDAWgBRzZqc3z48CbCniDBiDdWdT30WZRDAP
        BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQCBwPxGAnq1qEJyy3Zn
        vMb58DjevPo3ccTGYHQ1eipGegIhAP9Pd/5OydeAEdifgH024i5OMvgoCUahtFy1
        bygFlP4B
        -----END CERTIFICATE-----
        """
    static let farFutureNotAfter = 5_251_435_993.0
}

final class PreflightCertificateTests: XCTestCase {
    func testReadsFingerprintSubjectAndUTCTimeExpiry() throws {
        let summaries = try CertificateReader.summaries(pem: TestCertificates.meshRoot)
        XCTAssertEqual(summaries.count, 1)
        XCTAssertEqual(summaries[0].sha256, TestCertificates.meshRootSHA256)
        XCTAssertEqual(summaries[0].subject, "CN=Istio Mesh Root CA, O=cluster.local")
        XCTAssertEqual(summaries[0].notAfter, TestCertificates.meshRootNotAfter)
    }

    func testGeneralizedTimeAndBundlesInOrder() throws {
        let bundle = TestCertificates.farFuture + "\n" + TestCertificates.otherRoot + "\n"
        let summaries = try CertificateReader.summaries(pem: bundle)
        XCTAssertEqual(summaries.map(\.subject), ["CN=far future", "CN=Istio Mesh Root CA, O=cluster.local"])
        XCTAssertEqual(summaries[0].notAfter, TestCertificates.farFutureNotAfter)
        XCTAssertEqual(summaries[1].sha256, TestCertificates.otherRootSHA256)
    }

    func testRejectsWhatIsNotACertificate() {
        XCTAssertThrowsError(try CertificateReader.summaries(pem: "")) { XCTAssertEqual($0 as? CertificateParseError, .noCertificate) }
        XCTAssertThrowsError(try CertificateReader.summaries(pem: "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----")) {
            XCTAssertEqual($0 as? CertificateParseError, .badBase64)
        }
        let truncated = "-----BEGIN CERTIFICATE-----\nMIIBvzCCAWWgAwIBAgIU\n-----END CERTIFICATE-----"
        XCTAssertThrowsError(try CertificateReader.summaries(pem: truncated)) {
            guard case .malformedDER = $0 as? CertificateParseError else { return XCTFail("\($0)") }
        }
    }

    func testEveryTruncationOfTheDERFailsCleanly() throws {
        let der = try CertificateReader.derBlocks(pem: TestCertificates.meshRoot)[0]
        for length in stride(from: 0, to: der.count, by: 7) {
            XCTAssertThrowsError(try CertificateReader.summary(der: Array(der.prefix(length))), "prefix \(length)")
        }
    }

    func testSHA256OfKnownInput() {
        XCTAssertEqual(CertificateReader.sha256Hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
