// libFuzzer target for the kubeconfig loader's pure layer (Sources/KubeClient/Kubeconfig with Yams, see
// KubeconfigFuzz.sources and `make fuzz`): the input is kubeconfig text, parsed and then resolved for every
// context it defines, for the current context and for one it does not define. Nothing touches the file
// system: files the kubeconfig refers to are served by `servedFile` below, and exec plugins are only
// configured by resolution, never run. Checks, beyond "never crashes" (errors are typed: the API throws
// only KubeconfigError):
//  - context names are unique and in file order (first definition wins);
//  - an error resolving a defined context names that context;
//  - a resolved context has the name asked for, a namespace and an http(s) server with a valid port;
//  - no token or password from the input appears in an error message, a warning or a resolved context's
//    debug description (checked for values long and distinctive enough not to occur by chance).

import Foundation

/// Referenced files "exist" when their path has an even length; their content is the path itself.
func servedFile(_ path: String) -> [UInt8]? {
    path.utf8.count % 2 == 0 ? Array(path.utf8) : nil
}

/// Token and password values that would be recognisable if they leaked.
func distinctiveSecrets(in config: Kubeconfig, text: String) -> [String] {
    config.users.values.flatMap { [$0.value.token, $0.value.password] }.compactMap { $0 }.filter { secret in
        secret.utf8.count >= 16 && !secret.contains(where: \.isWhitespace)
            && text.components(separatedBy: secret).count == 2
    }
}

func checkNoSecret(_ secrets: [String], in text: String, _ what: String) {
    for secret in secrets { fuzzCheck(!text.contains(secret), "a secret appears in \(what)") }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func kubeconfigFuzzTest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let environment = ["HOME": "/nonexistent/home", "HTTPS_PROXY": "http://proxy.invalid:3128", "NO_PROXY": "10.0.0.0/8,.svc,localhost:6443"]
    let config: Kubeconfig
    do {
        config = try Kubeconfig.parse(text, directory: "/nonexistent/kubeconfig-fuzz", environment: environment)
    } catch {
        fuzzCheck(!error.description.isEmpty, "an empty parse error")
        return 0
    }
    fuzzCheck(Set(config.contextNames).count == config.contextNames.count, "a context is listed twice")
    fuzzCheck(config.contextNames.count == config.contexts.count, "context names and contexts disagree")
    let secrets = distinctiveSecrets(in: config, text: text)
    // An empty name asks for the current context (as `--context ""` does), so it is covered by nil.
    let requests: [String?] = config.contextNames.filter { !$0.isEmpty }.prefix(8).map { $0 } + [nil, "fuzz-undefined-context"]
    for name in requests {
        do {
            let resolved = try config.resolve(context: name, fileReader: servedFile)
            let expectedName = name ?? config.currentContext ?? ""
            fuzzCheck(resolved.name == expectedName, "resolved a different context")
            fuzzCheck(!resolved.namespace.isEmpty, "a resolved context without a namespace")
            fuzzCheck(["http", "https"].contains(resolved.cluster.server.scheme), "a server that is not http(s)")
            fuzzCheck((1...65535).contains(resolved.cluster.server.port), "a server port out of range")
            checkNoSecret(secrets, in: resolved.warnings.joined(separator: "\n"), "a warning")
            checkNoSecret(secrets, in: String(reflecting: resolved), "a resolved context")
        } catch {
            if let name, config.contexts[name] != nil {
                fuzzCheck(error.context == name, "a resolution error that does not name its context")
            }
            checkNoSecret(secrets, in: error.description, "an error message")
        }
    }
    return 0
}
