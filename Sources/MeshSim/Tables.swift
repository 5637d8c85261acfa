// Server-side printing (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`): the columns `kubectl get`
// shows for the kinds the simulator serves, computed as the real printers do (docs/PROTOCOL-NOTES.md §C10 for READY).

enum Tables {
    static func wantsTable(_ accept: String?) -> Bool {
        guard let accept else { return false }
        return accept.split(separator: ",").contains { part in
            let parameters = part.split(separator: ";").map { String($0).trimmingSpaces }
            return parameters.contains("as=Table") && parameters.contains("g=meta.k8s.io")
        }
    }

    struct Column {
        var name: String
        var type: String = "string"
        var format: String = ""
        var priority: Int64 = 0
        var description: String = ""
    }

    static func columns(for resource: ResourceType) -> [Column] {
        let name = Column(name: "Name", format: "name", description: "Name must be unique within a namespace.")
        let age = Column(
            name: "Age",
            description: "CreationTimestamp is a timestamp representing the server time "
                + "when this object was created.")
        switch resource {
        case .pods:
            return [
                name, Column(name: "Ready", description: "The aggregate readiness state of this pod for accepting traffic."),
                Column(name: "Status", description: "The aggregate status of the containers in this pod."),
                Column(
                    name: "Restarts",
                    description: "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
                age, Column(name: "IP", priority: 1, description: "IP address allocated to the pod."),
                Column(name: "Node", priority: 1, description: "Name of the node this pod is running on."),
                Column(name: "Nominated Node", priority: 1, description: "Name of the node where the pod is nominated."),
                Column(name: "Readiness Gates", priority: 1, description: "Pod readiness gates."),
            ]
        case .namespaces:
            return [name, Column(name: "Status", description: "The status of the namespace"), age]
        case .nodes:
            return [
                name, Column(name: "Status", description: "The status of the node"),
                Column(name: "Roles", description: "The roles of the node"), age,
                Column(name: "Version", description: "Kubelet Version reported by the node."),
                Column(name: "Internal-IP", priority: 1, description: "List of internal IPs."),
                Column(name: "External-IP", priority: 1, description: "List of external IPs."),
                Column(name: "OS-Image", priority: 1, description: "OS image reported by the node."),
                Column(name: "Kernel-Version", priority: 1, description: "Kernel version reported by the node."),
                Column(name: "Container-Runtime", priority: 1, description: "Container runtime reported by the node."),
            ]
        case .deployments:
            return [
                name, Column(name: "Ready", description: "Number of the pod with ready state"),
                Column(
                    name: "Up-to-date", type: "integer",
                    description: "Total number of non-terminated pods targeted by this deployment that have the desired template spec."),
                Column(
                    name: "Available", type: "integer",
                    description: "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."),
                age, Column(name: "Containers", priority: 1, description: "Names of each container in the template."),
                Column(name: "Images", priority: 1, description: "Images referenced by each container in the template."),
                Column(name: "Selector", priority: 1, description: "Label selector for pods."),
            ]
        case .replicaSets:
            return [
                name, Column(name: "Desired", type: "integer", description: "Number of desired pods."),
                Column(name: "Current", type: "integer", description: "Number of actual pods."),
                Column(name: "Ready", type: "integer", description: "Number of ready pods."), age,
            ]
        case .services:
            return [
                name, Column(name: "Type", description: "The type of the service."),
                Column(name: "Cluster-IP", description: "The IP address of the service."),
                Column(name: "External-IP", description: "The external IPs of the service."),
                Column(name: "Port(s)", description: "The ports of the service."), age,
                Column(name: "Selector", priority: 1, description: "The selector of the service."),
            ]
        case .secrets:
            return [
                name, Column(name: "Type", description: "The type of the secret"),
                Column(name: "Data", type: "integer", description: "The number of entries in the data."), age,
            ]
        case .configMaps:
            return [name, Column(name: "Data", type: "integer", description: "The number of entries in the data."), age]
        case .endpoints:
            return [name, Column(name: "Endpoints", description: "The endpoints of the service."), age]
        case .serviceAccounts:
            return [name, Column(name: "Secrets", type: "integer", description: "The number of secrets."), age]
        case .jobs:
            return [
                name, Column(name: "Status", description: "Status of the job."),
                Column(name: "Completions", description: "The number of pods which reached phase Succeeded."),
                Column(name: "Duration", description: "Time required to complete the job."), age,
            ] + templateColumns
        case .cronJobs:
            return [
                name, Column(name: "Schedule", description: "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
                Column(
                    name: "Timezone",
                    description: "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones."),
                Column(
                    name: "Suspend", type: "boolean",
                    description: "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions."),
                Column(name: "Active", type: "integer", description: "A list of pointers to currently running jobs."),
                Column(name: "Last Schedule", description: "Information when was the last time the job was successfully scheduled."),
                age,
            ] + templateColumns
        case .roles, .clusterRoles:
            return [
                name,
                Column(
                    name: "Created At", type: "date", description: "CreationTimestamp is a timestamp representing the server time when this object was created."
                ),
            ]
        case .roleBindings, .clusterRoleBindings:
            return [
                name, Column(name: "Role", description: "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace."),
                age, Column(name: "Users", priority: 1, description: "Users in the roleBinding"),
                Column(name: "Groups", priority: 1, description: "Groups in the roleBinding"),
                Column(name: "ServiceAccounts", priority: 1, description: "ServiceAccounts in the roleBinding"),
            ]
        // Istio's CRDs declare these as additionalPrinterColumns.
        case .virtualServices:
            return [
                name, Column(name: "Gateways", description: "The names of gateways and sidecars that should apply these routes"),
                Column(name: "Hosts", description: "The destination hosts to which traffic is being sent"), age,
            ]
        case .destinationRules:
            return [name, Column(name: "Host", description: "The name of a service from the service registry"), age]
        case .events:
            return eventColumns
        case .mutatingWebhookConfigurations:
            return [name, Column(name: "Webhooks", type: "integer", description: "Webhooks indicates the number of webhooks."), age]
        default:
            return [name, age]
        }
    }

    /// The wide columns of kinds with a pod template (Jobs, CronJobs).
    static let templateColumns = [
        Column(name: "Containers", priority: 1, description: "Names of each container in the template."),
        Column(name: "Images", priority: 1, description: "Images referenced by each container in the template."),
        Column(name: "Selector", priority: 1, description: "A label query over pods that should match the pod count."),
    ]

    static func table(for resource: ResourceType, objects: [JSON], listMeta: JSON, now: Double, includeObject: String?)
        -> JSON
    {
        let definitions: [JSON] = columns(for: resource).map {
            [
                "name": .string($0.name), "type": .string($0.type), "format": .string($0.format),
                "description": .string($0.description), "priority": .int($0.priority),
            ]
        }
        let rows: [JSON] = objects.map { object in
            let embedded: JSON
            switch includeObject {
            case "None": embedded = .null
            case "Object": embedded = object
            default:
                embedded = [
                    "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object["metadata"],
                ]
            }
            return ["cells": .array(cells(for: resource, object: object, now: now)), "object": embedded]
        }
        var table: JSON = [
            "kind": "Table", "apiVersion": "meta.k8s.io/v1", "columnDefinitions": .array(definitions),
            "rows": .array(rows),
        ]
        table["metadata"] = listMeta.isNull ? .emptyObject : listMeta
        return table
    }

    static func age(_ object: JSON, now: Double) -> JSON {
        guard let created = object["metadata"]["creationTimestamp"].string.flatMap(TimeFormat.parse) else {
            return "<unknown>"
        }
        return .string(TimeFormat.age(now - created))
    }

    static func cells(for resource: ResourceType, object: JSON, now: Double) -> [JSON] {
        let name = object["metadata"]["name"]
        let age = age(object, now: now)
        switch resource {
        case .pods:
            let (ready, total) = podReadiness(object)
            return [
                name, .string("\(ready)/\(total)"), .string(podStatus(object)), .string(restarts(object, now: now)), age,
                .string(object["status"]["podIP"].string ?? "<none>"),
                .string(object["spec"]["nodeName"].string ?? "<none>"), "<none>", "<none>",
            ]
        case .namespaces:
            return [name, .string(object["status"]["phase"].string ?? "Active"), age]
        case .nodes:
            let ready = (object["status"]["conditions"].array ?? []).contains { $0["type"] == "Ready" && $0["status"] == "True" }
            let info = object["status"]["nodeInfo"]
            func address(_ type: String) -> JSON {
                let found = (object["status"]["addresses"].array ?? []).first { $0["type"].string == type }
                return .string(found?["address"].string ?? "<none>")
            }
            return [
                name, .string(ready ? "Ready" : "NotReady"), "<none>", age, .string(info["kubeletVersion"].string ?? ""),
                address("InternalIP"), address("ExternalIP"), .string(info["osImage"].string ?? "<unknown>"),
                .string(info["kernelVersion"].string ?? "<unknown>"), .string(info["containerRuntimeVersion"].string ?? "<unknown>"),
            ]
        case .deployments:
            let template = object["spec"]["template"]["spec"]["containers"].array ?? []
            return [
                name,
                .string("\(object["status"]["readyReplicas"].int ?? 0)/\(object["spec"]["replicas"].int ?? 0)"),
                .int(object["status"]["updatedReplicas"].int ?? 0), .int(object["status"]["availableReplicas"].int ?? 0),
                age, .string(template.compactMap { $0["name"].string }.joined(separator: ",")),
                .string(template.compactMap { $0["image"].string }.joined(separator: ",")),
                .string(selectorText(object["spec"]["selector"])),
            ]
        case .replicaSets:
            return [
                name, .int(object["spec"]["replicas"].int ?? 0), .int(object["status"]["replicas"].int ?? 0),
                .int(object["status"]["readyReplicas"].int ?? 0), age,
            ]
        case .services:
            return [
                name, .string(object["spec"]["type"].string ?? "ClusterIP"),
                .string(object["spec"]["clusterIP"].string ?? "<none>"), .string(externalIP(object)),
                .string(portsText(object)), age,
                .string(selectorText(["matchLabels": object["spec"]["selector"]], none: "<none>")),
            ]
        case .secrets:
            return [name, .string(object["type"].string ?? "Opaque"), .int(Int64(object["data"].object?.count ?? 0)), age]
        case .configMaps:
            let count = (object["data"].object?.count ?? 0) + (object["binaryData"].object?.count ?? 0)
            return [name, .int(Int64(count)), age]
        case .endpoints:
            var addresses: [String] = []
            for subset in object["subsets"].array ?? [] {
                let ports = (subset["ports"].array ?? []).compactMap { $0["port"].int }
                for address in subset["addresses"].array ?? [] {
                    let ip = address["ip"].string ?? ""
                    addresses += ports.isEmpty ? [ip] : ports.map { "\(ip):\($0)" }
                }
            }
            return [name, .string(addresses.isEmpty ? "<none>" : addresses.joined(separator: ",")), age]
        case .serviceAccounts:
            return [name, .int(Int64(object["secrets"].array?.count ?? 0)), age]
        case .jobs:
            return [name, .string(jobStatus(object)), .string(jobCompletions(object)), .string(jobDuration(object, now: now)), age]
                + templateCells(object["spec"]["template"]["spec"], selector: object["spec"]["selector"])
        case .cronJobs:
            let lastSchedule = object["status"]["lastScheduleTime"].string.flatMap(TimeFormat.parse).map { TimeFormat.age(now - $0) }
            return [
                name, object["spec"]["schedule"], .string(object["spec"]["timeZone"].string ?? "<none>"),
                .string(object["spec"]["suspend"].bool.map { $0 ? "True" : "False" } ?? "<unset>"),
                .int(Int64(object["status"]["active"].array?.count ?? 0)), .string(lastSchedule ?? "<none>"), age,
            ]
                + templateCells(
                    object["spec"]["jobTemplate"]["spec"]["template"]["spec"],
                    selector: object["spec"]["jobTemplate"]["spec"]["selector"])
        case .roles, .clusterRoles:
            return [name, object["metadata"]["creationTimestamp"]]
        case .roleBindings, .clusterRoleBindings:
            let subjects = object["subjects"].array ?? []
            func names(_ kind: String) -> JSON {
                .string(
                    subjects.filter { $0["kind"].string == kind }.map { subject in
                        let name = subject["name"].string ?? ""
                        guard kind == "ServiceAccount", let namespace = subject["namespace"].string, !namespace.isEmpty else { return name }
                        return "\(namespace)/\(name)"
                    }.joined(separator: ", "))
            }
            let role = "\(object["roleRef"]["kind"].string ?? "")/\(object["roleRef"]["name"].string ?? "")"
            return [name, .string(role), age, names("User"), names("Group"), names("ServiceAccount")]
        case .virtualServices:
            return [name, compactJSON(object["spec"]["gateways"]), compactJSON(object["spec"]["hosts"]), age]
        case .destinationRules:
            return [name, object["spec"]["host"], age]
        case .events:
            return eventCells(object, now: now)
        case .mutatingWebhookConfigurations:
            return [name, .int(Int64((object["webhooks"].array ?? []).count)), age]
        default:
            return [name, age]
        }
    }

    /// A list cell of a CRD's printer column: the value as compact JSON, null when absent.
    static func compactJSON(_ value: JSON) -> JSON { value.isNull ? .null : .string(value.serialized()) }

    static func templateCells(_ podSpec: JSON, selector: JSON) -> [JSON] {
        let containers = podSpec["containers"].array ?? []
        return [
            .string(containers.compactMap { $0["name"].string }.joined(separator: ",")),
            .string(containers.compactMap { $0["image"].string }.joined(separator: ",")),
            .string(selectorText(selector, none: "<none>")),
        ]
    }

    /// As the Job printer derives it from the conditions; with no controller to add any, a Job stays Running.
    static func jobStatus(_ job: JSON) -> String {
        let conditions = (job["status"]["conditions"].array ?? []).filter { $0["status"].string == "True" }.compactMap { $0["type"].string }
        if conditions.contains("Complete") { return "Complete" }
        if conditions.contains("Failed") { return "Failed" }
        if !job["metadata"]["deletionTimestamp"].isNull { return "Terminating" }
        if conditions.contains("Suspended") { return "Suspended" }
        if conditions.contains("FailureTarget") { return "FailureTarget" }
        if conditions.contains("SuccessCriteriaMet") { return "SuccessCriteriaMet" }
        return "Running"
    }

    static func jobCompletions(_ job: JSON) -> String {
        let succeeded = job["status"]["succeeded"].int ?? 0
        if let completions = job["spec"]["completions"].int { return "\(succeeded)/\(completions)" }
        let parallelism = job["spec"]["parallelism"].int
        if parallelism == nil { return "\(succeeded)/1 of 1" }
        if let parallelism, parallelism > 1 { return "\(succeeded)/1 of \(parallelism)" }
        return "\(succeeded)/1"
    }

    static func jobDuration(_ job: JSON, now: Double) -> String {
        guard let start = job["status"]["startTime"].string.flatMap(TimeFormat.parse) else { return "" }
        let end = job["status"]["completionTime"].string.flatMap(TimeFormat.parse) ?? now
        return TimeFormat.age(end - start)
    }

    /// READY x/y: regular containers plus restartable (native sidecar) init containers.
    static func podReadiness(_ pod: JSON) -> (Int, Int) {
        let sidecars = Set(
            (pod["spec"]["initContainers"].array ?? []).filter { $0["restartPolicy"].string == "Always" }
                .compactMap { $0["name"].string })
        let total = (pod["spec"]["containers"].array?.count ?? 0) + sidecars.count
        var ready = (pod["status"]["containerStatuses"].array ?? []).filter { $0["ready"].bool == true }.count
        ready +=
            (pod["status"]["initContainerStatuses"].array ?? []).filter {
                sidecars.contains($0["name"].string ?? "") && $0["ready"].bool == true && $0["started"].bool == true
            }.count
        return (ready, total)
    }

    /// STATUS as the pod printer derives it: the pod's reason, else the first init container still initialising,
    /// else the waiting or terminated reason of the containers (the first container's wins), else the phase.
    static func podStatus(_ pod: JSON) -> String {
        var reason = pod["status"]["reason"].string ?? pod["status"]["phase"].string ?? "Pending"
        let initContainers = pod["spec"]["initContainers"].array ?? []
        let sidecars = Set(initContainers.filter { $0["restartPolicy"].string == "Always" }.compactMap { $0["name"].string })
        var initializing = false
        for (index, status) in (pod["status"]["initContainerStatuses"].array ?? []).enumerated() {
            let terminated = status["state"]["terminated"]
            let waitingReason = status["state"]["waiting"]["reason"].string ?? ""
            if !terminated.isNull && terminated["exitCode"].int == 0 { continue }
            if sidecars.contains(status["name"].string ?? "") && status["started"].bool == true { continue }
            initializing = true
            if !terminated.isNull {
                reason = terminated["reason"].string.map { "Init:" + $0 } ?? "Init:ExitCode:\(terminated["exitCode"].int ?? 0)"
            } else if !waitingReason.isEmpty && waitingReason != "PodInitializing" {
                reason = "Init:" + waitingReason
            } else {
                reason = "Init:\(index)/\(initContainers.count)"
            }
            break
        }
        let initialized = (pod["status"]["conditions"].array ?? []).contains {
            $0["type"].string == "Initialized" && $0["status"].string == "True"
        }
        if !initializing || initialized {
            var hasRunning = false
            for status in (pod["status"]["containerStatuses"].array ?? []).reversed() {
                if let waiting = status["state"]["waiting"]["reason"].string, !waiting.isEmpty {
                    reason = waiting
                } else if let terminated = status["state"]["terminated"]["reason"].string, !terminated.isEmpty {
                    reason = terminated
                } else if !status["state"]["terminated"].isNull {
                    reason = "ExitCode:\(status["state"]["terminated"]["exitCode"].int ?? 0)"
                } else if status["ready"].bool == true && !status["state"]["running"].isNull {
                    hasRunning = true
                }
            }
            if reason == "Completed" && hasRunning {
                let ready = (pod["status"]["conditions"].array ?? []).contains {
                    $0["type"].string == "Ready" && $0["status"].string == "True"
                }
                reason = ready ? "Running" : "NotReady"
            }
        }
        let phase = pod["status"]["phase"].string ?? "Pending"
        if !pod["metadata"]["deletionTimestamp"].isNull && phase != "Succeeded" && phase != "Failed" { return "Terminating" }
        return reason
    }

    /// RESTARTS: the count, with the age of the latest restart (`3 (12s ago)`) once there was one.
    static func restarts(_ pod: JSON, now: Double) -> String {
        var count: Int64 = 0
        var latest: Double?
        for status in pod["status"]["containerStatuses"].array ?? [] {
            count += status["restartCount"].int ?? 0
            if let finished = status["lastState"]["terminated"]["finishedAt"].string.flatMap(TimeFormat.parse) {
                latest = max(latest ?? finished, finished)
            }
        }
        guard count > 0, let latest else { return String(count) }
        return "\(count) (\(TimeFormat.age(now - latest)) ago)"
    }

    static func selectorText(_ selector: JSON, none: String = "") -> String {
        let labels = selector["matchLabels"].stringMap
        if labels.isEmpty && selector["matchExpressions"].isNull { return none }
        var parts = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        for expression in selector["matchExpressions"].array ?? [] {
            let key = expression["key"].string ?? ""
            let values = (expression["values"].array ?? []).compactMap(\.string).joined(separator: ",")
            switch expression["operator"].string ?? "" {
            case "In": parts.append("\(key) in (\(values))")
            case "NotIn": parts.append("\(key) notin (\(values))")
            case "Exists": parts.append(key)
            default: parts.append("!\(key)")
            }
        }
        return parts.joined(separator: ",")
    }

    static func externalIP(_ service: JSON) -> String {
        let type = service["spec"]["type"].string ?? "ClusterIP"
        if type == "ExternalName" { return service["spec"]["externalName"].string ?? "<none>" }
        if type == "LoadBalancer" {
            let ingress = (service["status"]["loadBalancer"]["ingress"].array ?? []).compactMap {
                $0["ip"].string ?? $0["hostname"].string
            }
            return ingress.isEmpty ? "<pending>" : ingress.joined(separator: ",")
        }
        return "<none>"
    }

    static func portsText(_ service: JSON) -> String {
        let ports = (service["spec"]["ports"].array ?? []).map { port -> String in
            let number = port["port"].int ?? 0
            let proto = port["protocol"].string ?? "TCP"
            if let nodePort = port["nodePort"].int { return "\(number):\(nodePort)/\(proto)" }
            return "\(number)/\(proto)"
        }
        return ports.isEmpty ? "<none>" : ports.joined(separator: ",")
    }
}
