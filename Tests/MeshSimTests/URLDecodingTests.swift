import Testing

@testable import MeshSim

@Suite struct URLDecodingTests {
    @Test func decodesEscapesPlusesAndMultibyteSequences() {
        #expect(URLDecoding.decode("a%20b+c") == "a b c")
        #expect(URLDecoding.decode("a%20b+c", plusIsSpace: false) == "a b+c")
        #expect(URLDecoding.decode("%2Fbin%2fsh") == "/bin/sh")
        #expect(URLDecoding.decode("caf%C3%A9") == "café")
        #expect(URLDecoding.decode("%24%7Bx%7D%3B%26%3D") == "${x};&=")
    }

    @Test func leavesMalformedEscapesAlone() {
        #expect(URLDecoding.decode("100%") == "100%")
        #expect(URLDecoding.decode("%4") == "%4")
        #expect(URLDecoding.decode("%zz%4g") == "%zz%4g")
        // A sign is not a hex digit (integer parsing would have taken "%+f" as 0x0f).
        #expect(URLDecoding.decode("%+f") == "% f")
        #expect(URLDecoding.decode("%-1", plusIsSpace: false) == "%-1")
    }

    @Test func decodesAnExecQueryWithTheWholeScript() {
        let script = "set -f\nurl=$1 burst=$2\nprintf 'MC1 %s\\n' \"$burst\" & wait"
        let encoded = script.utf8.map { byte -> String in
            let hex = String(byte, radix: 16, uppercase: true)
            return "%" + (hex.count == 1 ? "0" + hex : hex)
        }.joined()
        let request = APIRequest(
            method: "GET", uri: "/api/v1/namespaces/ns/pods/p/exec?command=%2Fbin%2Fsh&command=-c&command=\(encoded)&stdout=true",
            headers: [:], body: [], user: "admin")
        #expect(request.query["command"] == ["/bin/sh", "-c", script])
        #expect(request.parameter("stdout") == "true")
    }
}
