import Testing

@testable import MeshSim

@Suite struct JSONTests {
    @Test func roundTripsNestedValuesWithSortedKeys() throws {
        let text = #"{"b":[1,2.5,"x",true,null],"a":{"z":-3,"y":"\"q\"\n"}}"#
        let value = try JSON.parse(text)
        #expect(value["a"]["z"] == .int(-3))
        #expect(value["b"].array?.count == 5)
        #expect(value.serialized() == #"{"a":{"y":"\"q\"\n","z":-3},"b":[1,2.5,"x",true,null]}"#)
        #expect(try JSON.parse(value.serialized()) == value)
    }

    @Test func decodesUnicodeEscapesIncludingSurrogatePairs() throws {
        #expect(try JSON.parse(#""caf\u00e9 \ud83d\ude00""#) == .string("café 😀"))
        #expect(JSON.string("<&>").serialized() == #""\u003c\u0026\u003e""#)
        #expect(JSON.string("\u{01}").serialized() == #""\u0001""#)
    }

    @Test func rejectsMalformedDocumentsWithTheOffset() {
        for bad in ["", "{", #"{"a" 1}"#, "[1,]", "tru", #""unterminated"#, "{} x", "01x"] {
            #expect(throws: JSONParseError.self) { try JSON.parse(bad) }
        }
        do {
            _ = try JSON.parse("[1, ?]")
            Issue.record("parsed an invalid document")
        } catch {
            #expect(error.offset == 4)
        }
    }

    @Test func pathAssignmentCreatesAndRemovesMembers() {
        var object = JSON.emptyObject
        object[path: ["metadata", "labels", "app"]] = "sleep"
        #expect(object["metadata"]["labels"].stringMap == ["app": "sleep"])
        object[path: ["metadata", "labels", "app"]] = .null
        #expect(object["metadata"]["labels"] == .emptyObject)
    }
}

@Suite struct SelectorTests {
    let labels = ["app": "helloworld", "version": "v2", "tier": "3"]

    @Test func equalityAndSetBasedRequirements() throws {
        let cases: [(String, Bool)] = [
            ("app=helloworld", true), ("app==helloworld", true), ("app!=helloworld", false),
            ("version in (v1, v2)", true), ("version notin (v1,v2)", false), ("version notin (v1)", true),
            ("app", true), ("!app", false), ("!missing", true), ("missing", false), ("missing!=x", true),
            ("app=helloworld,version=v1", false), ("app=helloworld,version in (v2)", true),
            ("tier>2", true), ("tier<3", false), ("", true),
        ]
        for (text, expected) in cases {
            #expect(try LabelSelector.parse(text).matches(labels) == expected, "\(text)")
        }
    }

    @Test func invalidSelectorsAreBadRequests() {
        for bad in ["app=hello world", "-app=x", "version in v1", "tier>x", "a/b/c=1"] {
            #expect(throws: APIError.self) { try LabelSelector.parse(bad) }
            #expect((try? LabelSelector.parse(bad)) == nil)
        }
        do {
            _ = try LabelSelector.parse("version in v1")
        } catch {
            #expect(error.code == 400 && error.reason == "BadRequest")
        }
    }

    @Test func selectorObjectsMatchLikeQuerySelectors() throws {
        let object: JSON = [
            "matchLabels": ["app": "helloworld"],
            "matchExpressions": [["key": "version", "operator": "In", "values": ["v1", "v2"]]],
        ]
        let selector = try LabelSelector.fromObject(object)
        #expect(selector.matches(labels))
        #expect(!selector.matches(["app": "helloworld", "version": "v3"]))
        #expect(throws: APIError.self) { try LabelSelector.fromObject(["matchExpressions": [["key": "a", "operator": "Near"]]]) }
    }

    @Test func fieldSelectorsSupportTheRealFieldsOnly() throws {
        let pod: JSON = ["metadata": ["name": "p", "namespace": "sample"], "status": ["phase": "Running"]]
        #expect(try FieldSelector.parse("metadata.name=p", for: .pods).matches(pod))
        #expect(try FieldSelector.parse("metadata.name!=p", for: .pods).matches(pod) == false)
        #expect(try FieldSelector.parse("status.phase==Running,metadata.namespace=sample", for: .pods).matches(pod))
        #expect(throws: APIError.self) { try FieldSelector.parse("status.phase=Running", for: .services) }
        #expect(throws: APIError.self) { try FieldSelector.parse("spec.replicas=1", for: .deployments) }
    }
}

@Suite struct PatchTests {
    @Test func mergePatchFollowsRFC7386() throws {
        let target = try JSON.parse(#"{"a":"b","c":{"d":"e","f":"g"},"l":[1,2]}"#)
        let patch = try JSON.parse(#"{"a":"z","c":{"f":null},"l":[3]}"#)
        #expect(Patching.mergePatch(target, patch) == (try JSON.parse(#"{"a":"z","c":{"d":"e"},"l":[3]}"#)))
        #expect(Patching.mergePatch(.string("x"), try JSON.parse(#"{"a":1}"#)) == ["a": 1])
    }

    @Test func strategicMergeMergesContainersByNameAndHonoursDirectives() throws {
        let original = try JSON.parse(
            #"""
            {"spec":{"containers":[{"name":"app","image":"a:1","env":[{"name":"X","value":"1"}]},
            {"name":"side","image":"s:1"}],"finalizers":["a"],"tolerations":[{"key":"k"}]}}
            """#)
        let patch = try JSON.parse(
            #"""
            {"spec":{"containers":[{"name":"app","image":"a:2","env":[{"name":"Y","value":"2"}]},
            {"name":"side","$patch":"delete"}],"finalizers":["b"],"tolerations":[{"key":"n"}],
            "$setElementOrder/containers":[{"name":"app"}]}}
            """#)
        let merged = Patching.strategicMerge(original, patch)
        let containers = merged["spec"]["containers"].array ?? []
        #expect(containers.count == 1)
        #expect(containers.first?["image"] == "a:2")
        #expect((containers.first?["env"].array ?? []).compactMap { $0["name"].string } == ["X", "Y"])
        #expect(merged["spec"]["finalizers"] == ["a", "b"])
        #expect(merged["spec"]["tolerations"] == [["key": "n"]])
        #expect(merged["spec"]["$setElementOrder/containers"].isNull)
    }

    @Test func strategicMergeReplaceAndRetainKeys() throws {
        let original = try JSON.parse(#"{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}}"#)
        let patch = try JSON.parse(#"{"strategy":{"$retainKeys":["type"],"type":"Recreate","rollingUpdate":null}}"#)
        #expect(Patching.strategicMerge(original, patch) == (try JSON.parse(#"{"strategy":{"type":"Recreate"}}"#)))
        let replaced = Patching.strategicMerge(
            try JSON.parse(#"{"m":{"a":1,"b":2}}"#), try JSON.parse(#"{"m":{"$patch":"replace","c":3}}"#))
        #expect(replaced == (try JSON.parse(#"{"m":{"c":3}}"#)))
    }

    @Test func jsonPatchOperations() throws {
        let document = try JSON.parse(#"{"metadata":{"labels":{"a":"1"}},"list":[1,2,3]}"#)
        let patch = try JSON.parse(
            #"""
            [{"op":"add","path":"/metadata/labels/b~1c","value":"2"},{"op":"remove","path":"/list/0"},
             {"op":"replace","path":"/metadata/labels/a","value":"x"},{"op":"add","path":"/list/-","value":9},
             {"op":"copy","from":"/list/0","path":"/first"},{"op":"move","from":"/first","path":"/moved"},
             {"op":"test","path":"/moved","value":2}]
            """#)
        let result = try Patching.jsonPatch(document, patch)
        #expect(result == (try JSON.parse(#"{"metadata":{"labels":{"a":"x","b/c":"2"}},"list":[2,3,9],"moved":2}"#)))
        #expect(throws: APIError.self) {
            try Patching.jsonPatch(document, try JSON.parse(#"[{"op":"test","path":"/list/0","value":7}]"#))
        }
        #expect(throws: APIError.self) {
            try Patching.jsonPatch(document, try JSON.parse(#"[{"op":"replace","path":"/nope","value":7}]"#))
        }
        #expect(throws: APIError.self) { try Patching.jsonPatch(document, ["op": "add"]) }
    }

    @Test func patchTypesComeFromTheContentType() {
        #expect(PatchType(contentType: "application/merge-patch+json") == .merge)
        #expect(PatchType(contentType: "application/strategic-merge-patch+json; charset=utf-8") == .strategic)
        #expect(PatchType(contentType: "application/json-patch+json") == .json)
        #expect(PatchType(contentType: "application/json") == nil)
    }
}

@Suite struct ValidationTests {
    func causes(_ object: JSON, _ resource: ResourceType, old: JSON? = nil) -> [StatusCause] {
        do {
            try Validation.validate(object, resource: resource, old: old)
            return []
        } catch {
            #expect(error.code == 422 && error.reason == "Invalid")
            return error.causes
        }
    }

    static let deployment: JSON = [
        "metadata": ["name": "helloworld-v1"],
        "spec": [
            "selector": ["matchLabels": ["app": "helloworld", "version": "v1"]],
            "template": [
                "metadata": ["labels": ["app": "helloworld", "version": "v1"]],
                "spec": ["containers": [["name": "helloworld", "image": "h:1"]]],
            ],
        ],
    ]

    @Test func namesFollowTheRulesOfEachKind() {
        #expect(causes(["metadata": ["name": "Sample"]], .namespaces).first?.field == "metadata.name")
        #expect(causes(["metadata": ["name": "a.b"]], .namespaces).count == 1)
        #expect(causes(["metadata": ["name": "a.b"]], .configMaps).isEmpty)
        let service: JSON = ["metadata": ["name": "1svc"], "spec": ["ports": [["port": 80]]]]
        #expect(causes(service, .services).first?.message.contains("DNS-1035") == true)
        #expect(causes(["metadata": [:]], .configMaps).first?.reason == "FieldValueRequired")
        #expect(causes(["metadata": ["name": "x", "labels": ["bad key!": "v"]]], .configMaps).count == 1)
    }

    @Test func deploymentSelectorMustMatchTheTemplate() {
        #expect(causes(Self.deployment, .deployments).isEmpty)
        var mismatched = Self.deployment
        mismatched[path: ["spec", "template", "metadata", "labels", "version"]] = "v2"
        let found = causes(mismatched, .deployments)
        #expect(found.map(\.field) == ["spec.template.metadata.labels"])
        #expect(found.first?.message.contains("`selector` does not match template `labels`") == true)
        var noSelector = Self.deployment
        noSelector[path: ["spec", "selector"]] = .null
        #expect(causes(noSelector, .deployments).contains { $0.field == "spec.selector" && $0.reason == "FieldValueRequired" })
    }

    @Test func deploymentPodRulesAndImmutableSelector() {
        var never = Self.deployment
        never[path: ["spec", "template", "spec", "restartPolicy"]] = "Never"
        #expect(causes(never, .deployments).first?.reason == "FieldValueNotSupported")
        var noImage = Self.deployment
        noImage[path: ["spec", "template", "spec", "containers"]] = [["name": "c"]]
        #expect(causes(noImage, .deployments).first?.field == "spec.template.spec.containers[0].image")
        var changed = Self.deployment
        changed[path: ["spec", "selector", "matchLabels"]] = ["app": "helloworld"]
        changed[path: ["spec", "template", "metadata", "labels"]] = ["app": "helloworld"]
        #expect(causes(changed, .deployments, old: Self.deployment).first?.message.contains("field is immutable") == true)
    }

    @Test func invalidErrorMessageNamesKindAndField() {
        let error = APIError.invalid(
            .deployments, "d",
            causes: [
                StatusCause(
                    reason: "FieldValueRequired",
                    message: "Required value", field: "spec.selector")
            ])
        #expect(error.message == "Deployment.apps \"d\" is invalid: spec.selector: Required value")
        #expect(error.status["details"]["causes"].array?.first?["field"] == "spec.selector")
    }
}

@Suite struct TimeFormatTests {
    @Test func formatsAndParsesRFC3339() {
        #expect(TimeFormat.rfc3339(0) == "1970-01-01T00:00:00Z")
        #expect(TimeFormat.rfc3339(1_795_432_819) == "2026-11-23T11:20:19Z")
        #expect(TimeFormat.parse("2026-11-23T11:20:19Z") == 1_795_432_819)
        #expect(TimeFormat.parse("2024-02-29T12:00:00Z").map(TimeFormat.rfc3339) == "2024-02-29T12:00:00Z")
        #expect(TimeFormat.parse("yesterday") == nil)
    }

    @Test func agesLookLikeKubectls() {
        #expect(TimeFormat.age(5) == "5s")
        #expect(TimeFormat.age(119) == "119s")
        #expect(TimeFormat.age(192) == "3m12s")
        #expect(TimeFormat.age(900) == "15m")
        #expect(TimeFormat.age(5 * 3600 + 180) == "5h3m")
        #expect(TimeFormat.age(40 * 86_400) == "40d")
    }
}

@Suite struct Base64Tests {
    @Test func encodesAndDecodesAllPaddings() {
        for text in ["", "f", "fo", "foo", "foob", "fooba", "foobar"] {
            let encoded = Base64.encode(Array(text.utf8))
            #expect(Base64.decode(encoded) == Array(text.utf8))
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.encode([0xFF, 0xFE]) == "//4=")
        #expect(Base64.decode("not base64!") == nil)
    }
}
