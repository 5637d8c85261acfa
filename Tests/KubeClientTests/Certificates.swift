import Foundation
import MeshTestSupport

/// Base64 of the UTF-8 text, as kubeconfig `*-data` fields and Secret data carry it.
func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

/// A fresh self-signed P-256 server certificate for 127.0.0.1 and localhost, valid for a day, made
/// with the openssl CLI as key.pem and cert.pem in `directory`; clients trust it as its own CA.
func makeSelfSignedCertificate(in directory: TemporaryDirectory) throws -> (keyPath: String, certificatePath: String, certificatePEM: String) {
    let key = directory.path("key.pem")
    let cert = directory.path("cert.pem")
    _ = try ChildProcess.run(
        "/usr/bin/openssl",
        [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
            "-out", cert, "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-days", "1",
        ])
    return (key, cert, try String(contentsOfFile: cert, encoding: .utf8))
}
