// Which fields each served kind declares, for `fieldValidation=Strict` (what kubectl create/apply/replace
// send by default since 1.27): a real API server decodes into typed structs and refuses a field the type
// does not have ("strict decoding error: unknown field \"spec.replicass\""); under Warn (the default) and
// Ignore it drops them, with a Warning header for each under Warn. The schemas here are closed only where
// the simulator knows the type's whole field list (Kubernetes 1.31); everything below them is open (kept
// as sent), so a valid manifest never loses a field the list lacks.

/// The declared fields of a JSON value: an object whose field names are known, a list of such values,
/// or anything (`open`).
indirect enum FieldSchema: Sendable {
    case open
    case object([String: FieldSchema])
    case list(FieldSchema)

    /// An object with `names` (space-separated) as open fields, plus `typed` fields with schemas of their own.
    static func fields(_ names: String, _ typed: [String: FieldSchema] = [:]) -> FieldSchema {
        var members = typed
        for name in names.split(separator: " ") { members[String(name)] = .open }
        return .object(members)
    }

    /// The paths of fields in `value` that the schema does not declare, as apimachinery spells them
    /// (`spec.template.spec.containers[0].imagePullPolic`), in a stable order. Keys starting with `$`
    /// are strategic-merge-patch directives (`$setElementOrder/containers`, `$patch`), not fields.
    func unknownFields(in value: JSON, path: String = "") -> [String] {
        switch (self, value) {
        case (.object(let members), .object(let object)):
            return object.keys.sorted().flatMap { key -> [String] in
                if key.hasPrefix("$") { return [] }
                let child = path.isEmpty ? key : "\(path).\(key)"
                guard let schema = members[key] else { return [child] }
                return schema.unknownFields(in: object[key] ?? .null, path: child)
            }
        case (.list(let element), .array(let items)):
            return items.indices.flatMap { element.unknownFields(in: items[$0], path: "\(path)[\($0)]") }
        default:
            return []
        }
    }

    /// `value` without the fields the schema does not declare (what decoding into the typed object keeps).
    func pruned(_ value: JSON) -> JSON {
        switch (self, value) {
        case (.object(let members), .object(let object)):
            var kept: [String: JSON] = [:]
            for (key, child) in object {
                if key.hasPrefix("$") { kept[key] = child } else if let schema = members[key] { kept[key] = schema.pruned(child) }
            }
            return .object(kept)
        case (.list(let element), .array(let items)):
            return .array(items.map { element.pruned($0) })
        default:
            return value
        }
    }
}

enum FieldSchemas {
    /// The schema of a whole object of `resource`.
    static func schema(for resource: ResourceType) -> FieldSchema {
        switch resource {
        case .namespaces: return object(spec: .open)
        case .pods: return object(spec: podSpec)
        case .services:
            return object(
                spec: .fields(
                    "selector clusterIP clusterIPs type externalIPs sessionAffinity loadBalancerIP loadBalancerSourceRanges "
                        + "externalName externalTrafficPolicy healthCheckNodePort publishNotReadyAddresses sessionAffinityConfig "
                        + "ipFamilies ipFamilyPolicy allocateLoadBalancerNodePorts loadBalancerClass internalTrafficPolicy "
                        + "trafficDistribution",
                    ["ports": .list(.fields("name protocol appProtocol port targetPort nodePort"))]))
        case .serviceAccounts: return .fields("apiVersion kind secrets imagePullSecrets automountServiceAccountToken", ["metadata": objectMeta])
        case .configMaps: return .fields("apiVersion kind data binaryData immutable", ["metadata": objectMeta])
        case .secrets: return .fields("apiVersion kind data stringData type immutable", ["metadata": objectMeta])
        case .endpoints: return .fields("apiVersion kind subsets", ["metadata": objectMeta])
        case .deployments:
            return object(
                spec: .fields(
                    "replicas selector strategy minReadySeconds revisionHistoryLimit paused progressDeadlineSeconds",
                    ["template": podTemplate]))
        case .replicaSets: return object(spec: .fields("replicas minReadySeconds selector", ["template": podTemplate]))
        case .roles: return .fields("apiVersion kind", ["metadata": objectMeta, "rules": .list(policyRule)])
        case .clusterRoles: return .fields("apiVersion kind aggregationRule", ["metadata": objectMeta, "rules": .list(policyRule)])
        case .roleBindings, .clusterRoleBindings:
            return .fields(
                "apiVersion kind",
                [
                    "metadata": objectMeta, "subjects": .list(.fields("kind apiGroup name namespace")),
                    "roleRef": .fields("apiGroup kind name"),
                ])
        case .jobs: return object(spec: jobSpec)
        case .cronJobs:
            return object(
                spec: .fields(
                    "schedule timeZone startingDeadlineSeconds concurrencyPolicy suspend successfulJobsHistoryLimit failedJobsHistoryLimit",
                    ["jobTemplate": .fields("", ["metadata": objectMeta, "spec": jobSpec])]))
        case .events: return .open
        case .mutatingWebhookConfigurations: return .fields("apiVersion kind", ["metadata": objectMeta, "webhooks": .list(.open)])
        default:
            // Custom resources (Istio, ControlPlaneRevision): the envelope is fixed, the spec is the CRD's.
            return object(spec: .open)
        }
    }

    private static func object(spec: FieldSchema) -> FieldSchema {
        .fields("apiVersion kind status", ["metadata": objectMeta, "spec": spec])
    }

    static let objectMeta = FieldSchema.fields(
        "name generateName namespace selfLink uid resourceVersion generation creationTimestamp deletionTimestamp "
            + "deletionGracePeriodSeconds labels annotations ownerReferences finalizers managedFields")

    static let container = FieldSchema.fields(
        "name image command args workingDir ports envFrom env resources resizePolicy restartPolicy volumeMounts volumeDevices "
            + "livenessProbe readinessProbe startupProbe lifecycle terminationMessagePath terminationMessagePolicy "
            + "imagePullPolicy securityContext stdin stdinOnce tty")

    static let podSpec = FieldSchema.fields(
        "volumes ephemeralContainers restartPolicy terminationGracePeriodSeconds activeDeadlineSeconds dnsPolicy nodeSelector "
            + "serviceAccountName serviceAccount automountServiceAccountToken nodeName hostNetwork hostPID hostIPC "
            + "shareProcessNamespace securityContext imagePullSecrets hostname subdomain affinity schedulerName tolerations "
            + "hostAliases priorityClassName priority dnsConfig readinessGates runtimeClassName enableServiceLinks "
            + "preemptionPolicy overhead topologySpreadConstraints setHostnameAsFQDN os hostUsers schedulingGates "
            + "resourceClaims resources",
        ["containers": .list(container), "initContainers": .list(container)])

    static let podTemplate = FieldSchema.fields("", ["metadata": objectMeta, "spec": podSpec])

    static let jobSpec = FieldSchema.fields(
        "parallelism completions activeDeadlineSeconds podFailurePolicy successPolicy backoffLimit backoffLimitPerIndex "
            + "maxFailedIndexes selector manualSelector ttlSecondsAfterFinished completionMode suspend "
            + "podReplacementPolicy managedBy",
        ["template": podTemplate])

    static let policyRule = FieldSchema.fields("apiGroups resources verbs resourceNames nonResourceURLs")

    /// The error a real server gives under `fieldValidation=Strict`.
    static func strictDecodingError(_ unknown: [String], resource: ResourceType) -> APIError {
        // The codec names the version alone ("Deployment in version \"v1\""), without the group.
        APIError.badRequest(
            "\(resource.kind) in version \"\(resource.version)\" cannot be handled as a \(resource.kind): strict decoding error: "
                + unknown.map { "unknown field \"\($0)\"" }.joined(separator: ", "))
    }
}

extension ResourceType {
    /// The paths of fields in `object` that this kind does not declare: what a real server refuses
    /// under `fieldValidation=Strict` and drops otherwise.
    package func undeclaredFields(in object: JSON) -> [String] {
        FieldSchemas.schema(for: self).unknownFields(in: object)
    }
}
