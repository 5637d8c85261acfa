import Foundation
import Testing

@testable import KubeClient

@Suite struct StatusTests {
    private func error(_ code: Int, _ json: String, retryAfter: Duration? = nil) -> KubeAPIError {
        KubeAPIError.fromResponse(httpStatus: code, body: Array(json.utf8), retryAfter: retryAfter, context: "ctx")
    }

    /// 409 is split by reason, never by code.
    @Test func alreadyExistsVersusConflict() {
        let exists = error(409, #"{"kind":"Status","status":"Failure","message":"namespaces \"foo\" already exists","reason":"AlreadyExists","code":409}"#)
        let conflict = error(409, #"{"kind":"Status","status":"Failure","message":"Operation cannot be fulfilled","reason":"Conflict","code":409}"#)
        let deleting = error(
            409, #"{"kind":"Status","message":"object is being deleted: namespaces \"foo\" already exists","reason":"AlreadyExists","code":409}"#)
        #expect(exists.reason == .alreadyExists && !exists.isObjectBeingDeleted)
        #expect(conflict.reason == .conflict)
        #expect(deleting.isObjectBeingDeleted)
    }

    /// Forbidden with a NamespaceTerminating cause, Invalid with field causes, 429 with retry hints.
    @Test func causesAndRetryHints() {
        let terminating = error(
            403,
            #"{"kind":"Status","message":"pods \"p\" is forbidden: unable to create new content in namespace x because it is being terminated","reason":"Forbidden","details":{"name":"p","kind":"pods","causes":[{"reason":"NamespaceTerminating","message":"namespace x is being terminated","field":"metadata.namespace"}]},"code":403}"#
        )
        #expect(terminating.reason == .forbidden && terminating.isNamespaceTerminating)
        #expect(terminating.description.contains("being deleted"))
        let invalid = error(
            422,
            #"{"kind":"Status","message":"Deployment.apps \"d\" is invalid","reason":"Invalid","details":{"causes":[{"reason":"FieldValueInvalid","message":"Invalid value","field":"spec.template.metadata.labels"}]},"code":422}"#
        )
        #expect(invalid.reason == .invalid)
        #expect(invalid.causes.first?.field == "spec.template.metadata.labels")
        #expect(invalid.description.contains("spec.template.metadata.labels: Invalid value"))
        let throttled = error(429, #"{"kind":"Status","reason":"TooManyRequests","details":{"retryAfterSeconds":3},"code":429}"#)
        #expect(throttled.retryAfter == .seconds(3) && throttled.isRetryable)
        let header = error(429, #"{"kind":"Status","reason":"TooManyRequests","details":{"retryAfterSeconds":3}}"#, retryAfter: .seconds(1))
        #expect(header.retryAfter == .seconds(1))
    }

    /// Non-Status bodies fall back to the HTTP code and a short excerpt.
    @Test func nonStatusBodies() {
        let gateway = error(503, "<html>down</html>")
        #expect(gateway.reason == .serviceUnavailable && gateway.message == "<html>down</html>")
        #expect(error(401, "").reason == .unauthorized)
        #expect(error(418, "{}").reason == .unknown)
    }
}

@Suite struct RESTModelTests {
    /// Paths for core and grouped resources, namespaced or not, with escaped selectors.
    /// `Warning` header values (RFC 7234): the quoted text, unescaped; control characters neutralised.
    @Test func serverWarningTexts() {
        #expect(ServerWarning.text(ofHeader: #"299 - "unknown field \"spec.replicass\"""#) == #"unknown field "spec.replicass""#)
        #expect(
            ServerWarning.text(ofHeader: #"299 - "networking.istio.io/v1beta1 DestinationRule is deprecated" "Mon, 23 Nov 2026 17:00:00 GMT""#)
                == "networking.istio.io/v1beta1 DestinationRule is deprecated")
        #expect(ServerWarning.text(ofHeader: "299 - no quotes") == "299 - no quotes")
        #expect(ServerWarning.text(ofHeader: "299 - \"\u{1B}[31mred\u{07}\"") == " [31mred ")
        #expect(ServerWarning.line(context: "gke_p_z_c", text: "t") == "context gke_p_z_c: API server warning: t")
    }

    @Test func resourcePaths() {
        #expect(ResourcePath.namespaces("mc-1").requestPath == "/api/v1/namespaces/mc-1")
        #expect(ResourcePath.deployments(in: "ns", "hw").requestPath == "/apis/apps/v1/namespaces/ns/deployments/hw")
        let pods = ResourcePath.pods(in: "ns").labelSelector("app=helloworld,version in (v1,v2)").fieldSelector("status.phase=Running")
        #expect(
            pods.requestPath == "/api/v1/namespaces/ns/pods?labelSelector=app%3Dhelloworld%2Cversion%20in%20%28v1%2Cv2%29&fieldSelector=status.phase%3DRunning")
        var paged = ResourcePath.secrets(in: "istio-system")
        paged.query.limit = 2
        paged.query.continueToken = "abc+/="
        #expect(paged.requestPath == "/api/v1/namespaces/istio-system/secrets?limit=2&continue=abc%2B%2F%3D")
    }

    /// Backoff grows exponentially, is capped, jitters within bounds, and Retry-After wins.
    @Test func retryDelays() {
        let low = { (range: ClosedRange<Double>) in range.lowerBound }
        let high = { (range: ClosedRange<Double>) in range.upperBound }
        #expect(RetryPolicy.delay(attempt: 1, retryAfter: nil, base: .milliseconds(200), cap: .seconds(10), random: high) == .milliseconds(200))
        #expect(RetryPolicy.delay(attempt: 3, retryAfter: nil, base: .milliseconds(200), cap: .seconds(10), random: low) == .milliseconds(400))
        #expect(RetryPolicy.delay(attempt: 30, retryAfter: nil, base: .milliseconds(200), cap: .seconds(10), random: high) == .seconds(10))
        #expect(RetryPolicy.delay(attempt: 1, retryAfter: .seconds(2), base: .milliseconds(200), cap: .seconds(1), random: low) == .seconds(2))
    }

    /// Typed objects decode the fields meshcheck reads, including native sidecars and LB status.
    @Test func decodesTypedObjects() throws {
        let pod = try JSONDecoder().decode(
            Pod.self,
            from: Data(
                #"""
                {"metadata":{"name":"hw-1","labels":{"app":"hw"}},"spec":{"containers":[{"name":"hw"}],"initContainers":[{"name":"istio-proxy","restartPolicy":"Always"}]},
                 "status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}],"containerStatuses":[{"name":"hw","ready":true}],"initContainerStatuses":[{"name":"istio-proxy","ready":true,"started":true}]}}
                """#.utf8))
        #expect(pod.isReady)
        #expect(pod.spec?.initContainers?.first?.restartPolicy == "Always")
        let svc = try JSONDecoder().decode(
            Service.self, from: Data(#"{"metadata":{"name":"gw"},"status":{"loadBalancer":{"ingress":[{"ip":"1.2.3.4"}]}}}"#.utf8))
        #expect(svc.status?.loadBalancer?.ingress?.first?.ip == "1.2.3.4")
        let list = try JSONDecoder().decode(ObjectList<JSONValue>.self, from: Data(#"{"metadata":{"continue":"t"},"items":[{"a":1}]}"#.utf8))
        #expect(list.metadata?.continue == "t" && list.items.first?["a"]?.numberValue == 1)
        let secret = Secret(metadata: ObjectMeta(name: "s"), data: ["k": base64("SECRET")])
        #expect(secret.decodedValue("k") == Array("SECRET".utf8))
        #expect(!secret.description.contains("U0VDUkVU"))
        let deployment = try JSONDecoder().decode(
            Deployment.self,
            from: Data(
                #"{"metadata":{"generation":2},"spec":{"replicas":2},"status":{"observedGeneration":2,"replicas":2,"updatedReplicas":2,"availableReplicas":2}}"#
                    .utf8))
        #expect(deployment.isRolledOut)
    }

    /// JSONValue round-trips integers without a fraction.
    @Test func jsonValueRoundTrip() throws {
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(#"{"a":[1,2.5,true,null,"x"]}"#.utf8))
        let encoded = String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
        #expect(encoded == #"{"a":[1,2.5,true,null,"x"]}"#)
    }
}
