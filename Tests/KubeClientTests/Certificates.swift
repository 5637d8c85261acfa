import Foundation
import MeshTestSupport

/// Base64 of the UTF-8 text, as kubeconfig `*-data` fields and Secret data carry it.
func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
