// batch/v1 Jobs and CronJobs as the API server stores them: defaults, the Job's generated selector, and the
// validation a real server applies (apis/batch/validation). Nothing runs them: like an API server without
// a controller manager, the simulator only stores and serves them.

import Foundation

enum BatchResources {
    /// SetDefaults_Job.
    static func defaultJob(_ object: inout JSON) {
        defaultJobSpec(&object["spec"])
        let templateLabels = object["spec"]["template"]["metadata"]["labels"]
        if object["metadata"]["labels"].stringMap.isEmpty, !templateLabels.stringMap.isEmpty {
            object["metadata"]["labels"] = templateLabels
        }
    }

    static func defaultJobSpec(_ spec: inout JSON) {
        if spec["completions"].isNull && spec["parallelism"].isNull { spec["completions"] = 1 }
        if spec["parallelism"].isNull { spec["parallelism"] = 1 }
        if spec["backoffLimit"].isNull { spec["backoffLimit"] = spec["backoffLimitPerIndex"].isNull ? 6 : .int(Int64(Int32.max)) }
        if spec["completionMode"].isNull { spec["completionMode"] = "NonIndexed" }
        if spec["suspend"].isNull { spec["suspend"] = false }
        if spec["podReplacementPolicy"].isNull {
            spec["podReplacementPolicy"] = spec["podFailurePolicy"].isNull ? "TerminatingOrFailed" : "Failed"
        }
        ClusterState.defaultPodSpec(&spec["template"]["spec"])
    }

    /// SetDefaults_CronJob; the job template's pod spec gets the pod defaults, its Job fields stay as written
    /// (the Job defaults apply when the controller creates a Job from it).
    static func defaultCronJob(_ object: inout JSON) {
        if object["spec"]["concurrencyPolicy"].isNull { object["spec"]["concurrencyPolicy"] = "Allow" }
        if object["spec"]["suspend"].isNull { object["spec"]["suspend"] = false }
        if object["spec"]["successfulJobsHistoryLimit"].isNull { object["spec"]["successfulJobsHistoryLimit"] = 3 }
        if object["spec"]["failedJobsHistoryLimit"].isNull { object["spec"]["failedJobsHistoryLimit"] = 1 }
        ClusterState.defaultPodSpec(&object["spec"]["jobTemplate"]["spec"]["template"]["spec"])
    }

    static let controllerUIDLabel = "batch.kubernetes.io/controller-uid"

    /// The Job strategy's generated selector (unless `manualSelector: true`): the new Job's uid selects its
    /// pods, whose template gets the job-name and controller-uid labels (legacy and prefixed).
    static func generateJobSelector(_ object: inout JSON) {
        guard object["spec"]["manualSelector"].bool != true else { return }
        let name = object["metadata"]["name"]
        let uid = object["metadata"]["uid"]
        for (key, value) in [("controller-uid", uid), (controllerUIDLabel, uid), ("job-name", name), ("batch.kubernetes.io/job-name", name)] {
            object["spec"]["template"]["metadata"]["labels"][key] = value
        }
        if object["spec"]["selector"]["matchLabels"][controllerUIDLabel].isNull {
            object["spec"]["selector"]["matchLabels"][controllerUIDLabel] = uid
        }
    }

    // MARK: Validation

    static func validateJob(_ object: JSON, old: JSON?, errors: inout FieldErrors) {
        validateJobSpec(object["spec"], path: "spec", selectorRequired: true, errors: &errors)
        if let old {
            for field in ["selector", "completions", "completionMode"] where old["spec"][field] != object["spec"][field] {
                errors.invalid("spec.\(field)", object["spec"][field], "field is immutable")
            }
            if old["spec"]["template"] != object["spec"]["template"] {
                errors.invalid("spec.template", object["spec"]["template"], "field is immutable")
            }
        }
    }

    static func validateCronJob(_ object: JSON, errors: inout FieldErrors) {
        let name = object["metadata"]["name"].string ?? ""
        if name.utf8.count > 52 { errors.invalid("metadata.name", .string(name), "must be no more than 52 characters") }
        let spec = object["spec"]
        if let schedule = spec["schedule"].string, !schedule.isEmpty {
            if let problem = CronSchedule.problem(schedule) { errors.invalid("spec.schedule", .string(schedule), problem) }
        } else {
            errors.required("spec.schedule")
        }
        if let zone = spec["timeZone"].string, zone.isEmpty || zone.hasPrefix(" ") || TimeZone(identifier: zone) == nil {
            errors.invalid("spec.timeZone", .string(zone), "unknown time zone \(zone)")
        }
        let policies = ["Allow", "Forbid", "Replace"]
        if let policy = spec["concurrencyPolicy"].string, !policies.contains(policy) {
            errors.unsupported("spec.concurrencyPolicy", policy, supported: policies)
        }
        for field in ["startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"] {
            if let value = spec[field].int, value < 0 { errors.invalid("spec.\(field)", .int(value), "must be greater than or equal to 0") }
        }
        validateJobSpec(spec["jobTemplate"]["spec"], path: "spec.jobTemplate.spec", selectorRequired: false, errors: &errors)
    }

    /// ValidateJobSpec: counts and deadlines in range, a restart policy a Job can use, a selector matching the
    /// template (generated for Jobs, absent in CronJob templates), and the pod spec.
    static func validateJobSpec(_ spec: JSON, path: String, selectorRequired: Bool, errors: inout FieldErrors) {
        for field in ["parallelism", "completions", "backoffLimit", "ttlSecondsAfterFinished"] {
            if let value = spec[field].int, value < 0 { errors.invalid("\(path).\(field)", .int(value), "must be greater than or equal to 0") }
        }
        if let deadline = spec["activeDeadlineSeconds"].int, deadline <= 0 {
            errors.invalid("\(path).activeDeadlineSeconds", .int(deadline), "must be greater than 0")
        }
        let modes = ["NonIndexed", "Indexed"]
        if let mode = spec["completionMode"].string, !modes.contains(mode) {
            errors.unsupported("\(path).completionMode", mode, supported: modes)
        }
        let selector = spec["selector"]
        if selector.isNull {
            if selectorRequired { errors.required("\(path).selector") }
        } else {
            do {
                if !(try LabelSelector.fromObject(selector)).matches(spec["template"]["metadata"]["labels"].stringMap) {
                    errors.invalid(
                        "\(path).template.metadata.labels", spec["template"]["metadata"]["labels"],
                        "`selector` does not match template `labels`")
                }
            } catch {
                errors.invalid("\(path).selector", selector, error.message)
            }
        }
        let podSpec = spec["template"]["spec"]
        Validation.validatePodSpec(podSpec, path: "\(path).template.spec", errors: &errors)
        let restartPolicy = podSpec["restartPolicy"].string ?? "Always"
        if !["OnFailure", "Never"].contains(restartPolicy) {
            errors.unsupported("\(path).template.spec.restartPolicy", restartPolicy, supported: ["OnFailure", "Never"])
        }
    }
}

/// The cron syntax CronJobs accept (robfig/cron's standard parser): five fields, or a descriptor such as
/// `@hourly` / `@every 1h30m`.
enum CronSchedule {
    static let descriptors: Set<String> = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"]
    static let months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    static let weekdays = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

    /// Why `schedule` is not a valid cron schedule, or nil.
    static func problem(_ schedule: String) -> String? {
        if schedule.contains("TZ") { return "cannot use TZ or CRON_TZ in schedule, use timeZone field instead" }
        if schedule.hasPrefix("@") {
            if descriptors.contains(schedule) { return nil }
            if schedule.hasPrefix("@every ") {
                return everyIsValid(String(schedule.dropFirst("@every ".count)))
                    ? nil
                    : "failed to parse duration \(schedule)"
            }
            return "unrecognized descriptor: \(schedule)"
        }
        let fields = schedule.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            return "expected exactly 5 fields, found \(fields.count): [\(fields.joined(separator: " "))]"
        }
        let bounds: [(ClosedRange<Int>, [String])] = [(0...59, []), (0...23, []), (1...31, []), (1...12, months), (0...6, weekdays)]
        for (field, (range, names)) in zip(fields, bounds) {
            if let problem = fieldProblem(field, range: range, names: names, allowsQuestionMark: range == 1...31 || range == 0...6) {
                return problem
            }
        }
        return nil
    }

    static func fieldProblem(_ field: String, range: ClosedRange<Int>, names: [String], allowsQuestionMark: Bool) -> String? {
        for term in field.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            let parts = term.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard parts.count <= 2 else { return "too many slashes: \(term)" }
            if parts.count == 2 {
                guard let step = Int(parts[1]) else { return "failed to parse int from \(parts[1])" }
                if step <= 0 { return "step of range should be a positive number: \(term)" }
            }
            let span = parts[0]
            if span == "*" || (allowsQuestionMark && span == "?") { continue }
            let ends = span.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
            guard ends.count <= 2 else { return "too many hyphens: \(span)" }
            var values: [Int] = []
            for end in ends {
                if let number = Int(end) {
                    values.append(number)
                } else if let index = names.firstIndex(of: end.uppercased()) {
                    values.append(index + range.lowerBound)
                } else {
                    return "failed to parse int from \(end)"
                }
            }
            if values[0] < range.lowerBound { return "beginning of range (\(values[0])) below minimum (\(range.lowerBound)): \(term)" }
            if let last = values.last, last > range.upperBound { return "end of range (\(last)) above maximum (\(range.upperBound)): \(term)" }
            if values.count == 2, values[0] > values[1] { return "beginning of range (\(values[0])) beyond end of range (\(values[1])): \(term)" }
        }
        return nil
    }

    /// A Go duration such as `1h30m` or `90s`.
    static func everyIsValid(_ text: String) -> Bool {
        var rest = Substring(text)
        guard !rest.isEmpty else { return false }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber || $0 == "." }
            guard !digits.isEmpty, Double(digits) != nil else { return false }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { $0.isLetter || $0 == "µ" }
            guard ["ns", "us", "µs", "ms", "s", "m", "h"].contains(String(unit)) else { return false }
            rest = rest.dropFirst(unit.count)
        }
        return true
    }
}
