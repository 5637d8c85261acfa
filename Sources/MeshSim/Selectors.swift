// labelSelector and fieldSelector query syntax (docs/PROTOCOL-NOTES.md §C7), parsed into values that match objects.

package struct LabelRequirement: Sendable, Equatable {
    package enum Operator: Sendable, Equatable {
        case equals, notEquals, isIn, notIn, exists, doesNotExist, greaterThan, lessThan
    }
    package var key: String
    package var op: Operator
    package var values: [String]

    package func matches(_ labels: [String: String]) -> Bool {
        let value = labels[key]
        switch op {
        case .equals, .isIn: return value.map { values.contains($0) } ?? false
        case .notEquals, .notIn: return value.map { !values.contains($0) } ?? true
        case .exists: return value != nil
        case .doesNotExist: return value == nil
        case .greaterThan, .lessThan:
            guard let value, let actual = Int64(value), let bound = values.first.flatMap({ Int64($0) }) else {
                return false
            }
            return op == .greaterThan ? actual > bound : actual < bound
        }
    }
}

package struct LabelSelector: Sendable, Equatable {
    package var requirements: [LabelRequirement]

    package static let everything = LabelSelector(requirements: [])

    package init(requirements: [LabelRequirement]) { self.requirements = requirements }

    package func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { $0.matches(labels) }
    }

    /// Parses the query-string form: comma = AND; `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`,
    /// `k`, `!k`, `k>1`, `k<1`.
    package static func parse(_ text: String) throws(APIError) -> LabelSelector {
        var requirements: [LabelRequirement] = []
        for part in splitTopLevel(text) {
            let clause = part.trimmingSpaces
            if clause.isEmpty { continue }
            requirements.append(try parseRequirement(clause))
        }
        return LabelSelector(requirements: requirements)
    }

    /// A Kubernetes `LabelSelector` object (matchLabels + matchExpressions), as Deployments and Services carry.
    package static func fromObject(_ selector: JSON) throws(APIError) -> LabelSelector {
        var requirements: [LabelRequirement] = []
        for (key, value) in selector["matchLabels"].stringMap.sorted(by: { $0.key < $1.key }) {
            requirements.append(LabelRequirement(key: key, op: .equals, values: [value]))
        }
        for expression in selector["matchExpressions"].array ?? [] {
            let key = expression["key"].string ?? ""
            let values = (expression["values"].array ?? []).compactMap(\.string)
            let op: LabelRequirement.Operator
            switch expression["operator"].string ?? "" {
            case "In": op = .isIn
            case "NotIn": op = .notIn
            case "Exists": op = .exists
            case "DoesNotExist": op = .doesNotExist
            case let other: throw APIError.badRequest("\"\(other)\" is not a valid label selector operator")
            }
            requirements.append(LabelRequirement(key: key, op: op, values: values))
        }
        return LabelSelector(requirements: requirements)
    }

    private static func splitTopLevel(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            switch character {
            case "(":
                depth += 1
                current.append(character)
            case ")":
                depth -= 1
                current.append(character)
            case "," where depth == 0:
                parts.append(current)
                current = ""
            default: current.append(character)
            }
        }
        parts.append(current)
        return parts
    }

    private static func parseRequirement(_ clause: String) throws(APIError) -> LabelRequirement {
        func bad(_ why: String) -> APIError {
            APIError.badRequest("unable to parse requirement: \(why)")
        }
        if clause.hasPrefix("!") {
            let key = String(clause.dropFirst()).trimmingSpaces
            try validateKey(key, clause: clause)
            return LabelRequirement(key: key, op: .doesNotExist, values: [])
        }
        for (word, op) in [(" notin ", LabelRequirement.Operator.notIn), (" in ", .isIn)] {
            if let range = clause.firstRange(of: word) {
                let key = String(clause[..<range.lowerBound]).trimmingSpaces
                let rest = String(clause[range.upperBound...]).trimmingSpaces
                guard rest.hasPrefix("("), rest.hasSuffix(")") else {
                    throw bad("found '\(rest)', expected: '('")
                }
                let inner = rest.dropFirst().dropLast()
                let values = inner.split(separator: ",", omittingEmptySubsequences: false).map {
                    String($0).trimmingSpaces
                }
                try validateKey(key, clause: clause)
                for value in values { try validateValue(value, clause: clause) }
                return LabelRequirement(key: key, op: op, values: values)
            }
        }
        for (token, op) in [
            ("!=", LabelRequirement.Operator.notEquals), ("==", .equals), ("=", .equals), (">", .greaterThan),
            ("<", .lessThan),
        ] {
            if let range = clause.firstRange(of: token) {
                let key = String(clause[..<range.lowerBound]).trimmingSpaces
                let value = String(clause[range.upperBound...]).trimmingSpaces
                try validateKey(key, clause: clause)
                if op == .greaterThan || op == .lessThan {
                    guard Int64(value) != nil else { throw bad("for 'Gt', 'Lt' operators, the value must be an integer") }
                } else {
                    try validateValue(value, clause: clause)
                }
                return LabelRequirement(key: key, op: op, values: [value])
            }
        }
        try validateKey(clause, clause: clause)
        return LabelRequirement(key: clause, op: .exists, values: [])
    }

    private static func validateKey(_ key: String, clause: String) throws(APIError) {
        if let problem = NameRules.labelKeyProblem(key) {
            throw APIError.badRequest("unable to parse requirement: invalid label key \"\(key)\": \(problem)")
        }
    }

    private static func validateValue(_ value: String, clause: String) throws(APIError) {
        if let problem = NameRules.labelValueProblem(value) {
            throw APIError.badRequest("unable to parse requirement: invalid label value: \"\(value)\": \(problem)")
        }
    }
}

package struct FieldSelector: Sendable, Equatable {
    package struct Term: Sendable, Equatable {
        package var field: String
        package var value: String
        package var negated: Bool
    }
    package var terms: [Term]

    package static let everything = FieldSelector(terms: [])

    static func supportedFields(_ resource: ResourceType) -> Set<String> {
        var fields: Set<String> = ["metadata.name", "metadata.namespace"]
        switch resource {
        case .pods:
            fields.formUnion([
                "status.phase", "spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                "spec.serviceAccountName", "status.podIP",
            ])
        case .namespaces: fields.insert("status.phase")
        case .secrets: fields.insert("type")
        case .replicaSets: fields.insert("status.replicas")
        case .events:
            fields.formUnion([
                "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
                "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                "reportingComponent", "source", "type",
            ])
        default: break
        }
        return fields
    }

    package static func parse(_ text: String, for resource: ResourceType) throws(APIError) -> FieldSelector {
        var terms: [Term] = []
        for part in text.split(separator: ",") {
            let clause = String(part).trimmingSpaces
            if clause.isEmpty { continue }
            let term: Term
            if let range = clause.firstRange(of: "!=") {
                term = Term(
                    field: String(clause[..<range.lowerBound]), value: String(clause[range.upperBound...]), negated: true)
            } else if let range = clause.firstRange(of: "==") ?? clause.firstRange(of: "=") {
                term = Term(
                    field: String(clause[..<range.lowerBound]), value: String(clause[range.upperBound...]), negated: false)
            } else {
                throw APIError.badRequest("invalid selector: '\(text)'; can't understand '\(clause)'")
            }
            guard supportedFields(resource).contains(term.field) else {
                throw APIError.badRequest("field label not supported: \(term.field)")
            }
            terms.append(term)
        }
        return FieldSelector(terms: terms)
    }

    package func matches(_ object: JSON) -> Bool {
        terms.allSatisfy { term in
            let actual = object[path: term.field.split(separator: ".").map(String.init)]
            let text: String
            switch actual {
            case .string(let value): text = value
            case .int(let value): text = String(value)
            default: text = ""
            }
            return (text == term.value) != term.negated
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars = scalars.dropFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
