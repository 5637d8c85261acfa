// Per-cluster PKI: a CA, a server certificate for 127.0.0.1/localhost, an admin client certificate
// (O=system:masters, as GKE's legacy client certs and kubeadm's admin.conf use) and a bearer token; plus the
// mesh root CA whose PEM every cluster publishes as istio-ca-root-cert.

import Crypto
import Foundation
import SwiftASN1
import X509

package struct CertificateAuthority: Sendable {
    package let certificate: Certificate
    package let privateKey: P256.Signing.PrivateKey

    package var certificatePEM: String { (try? certificate.serializeAsPEM().pemString) ?? "" }

    package static func make(commonName: String, organization: String? = nil, validFor days: Double = 3650)
        throws -> CertificateAuthority
    {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            if let organization { OrganizationName(organization) }
            CommonName(commonName)
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: .init(key.publicKey), notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(days * 86_400), issuer: name, subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: .init(key.publicKey))
            },
            issuerPrivateKey: .init(key))
        return CertificateAuthority(certificate: certificate, privateKey: key)
    }

    /// Issues a leaf certificate; `serverNames` makes it a TLS server certificate, otherwise a client one.
    package func issue(
        commonName: String, organizations: [String] = [], serverNames: [String] = [],
        serverAddresses: [[UInt8]] = []
    ) throws -> IssuedCertificate {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            for organization in organizations { OrganizationName(organization) }
            CommonName(commonName)
        }
        let isServer = !serverNames.isEmpty || !serverAddresses.isEmpty
        let names: [GeneralName] =
            serverNames.map { .dnsName($0) }
            + serverAddresses.map { .ipAddress(ASN1OctetString(contentBytes: $0[...])) }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(365 * 86_400),
            issuer: self.certificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage(isServer ? [.serverAuth] : [.clientAuth])
                if isServer { SubjectAlternativeNames(names) }
            },
            issuerPrivateKey: .init(privateKey))
        return IssuedCertificate(certificate: certificate, privateKey: key)
    }

    /// Whether `certificate` was signed by this CA and is within its validity period.
    package func verifies(_ certificate: Certificate, at date: Date = Date()) -> Bool {
        guard certificate.issuer == self.certificate.subject,
            self.certificate.publicKey.isValidSignature(certificate.signature, for: certificate)
        else { return false }
        return certificate.notValidBefore <= date && date <= certificate.notValidAfter
    }
}

package struct IssuedCertificate: Sendable {
    package let certificate: Certificate
    package let privateKey: P256.Signing.PrivateKey

    package var certificatePEM: String { (try? certificate.serializeAsPEM().pemString) ?? "" }
    package var privateKeyPEM: String { privateKey.pemRepresentation }
}

/// Everything one simulated API server needs to authenticate and be authenticated.
package struct ClusterCredentials: Sendable {
    package let authority: CertificateAuthority
    package let server: IssuedCertificate
    package let adminClient: IssuedCertificate
    package let adminUser: String
    /// Bearer token of the token user; kept out of logs.
    package let bearerToken: String

    /// `extraAddresses`: more IPv4 addresses the server certificate must cover (a private endpoint).
    package static func make(clusterName: String, extraAddresses: [[UInt8]] = []) throws -> ClusterCredentials {
        let authority = try CertificateAuthority.make(commonName: "\(clusterName)-ca")
        let server = try authority.issue(
            commonName: "kube-apiserver", serverNames: ["localhost", "kubernetes", "kubernetes.default"],
            serverAddresses: [[127, 0, 0, 1]] + extraAddresses)
        let adminUser = "meshsim-admin"
        let client = try authority.issue(commonName: adminUser, organizations: ["system:masters"])
        var tokenBytes = [UInt8](repeating: 0, count: 24)
        var generator = SystemRandomNumberGenerator()
        for index in tokenBytes.indices { tokenBytes[index] = generator.next() }
        let token = "msim." + hexString(tokenBytes)
        return ClusterCredentials(
            authority: authority, server: server, adminClient: client, adminUser: adminUser,
            bearerToken: token)
    }
}

extension Certificate {
    /// Values of one subject attribute type (CN, O) as strings.
    func subjectValues(_ type: ASN1ObjectIdentifier) -> [String] {
        subject.flatMap { $0 }.filter { $0.type == type }.map { String(describing: $0.value) }
    }
}
