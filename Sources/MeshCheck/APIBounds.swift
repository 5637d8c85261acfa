// The scenario's `api` bounds as KubeClient options: one place maps them, for `run` and `preflight` alike.

import KubeClient

extension APISettings {
    /// `options` with these bounds applied (the connect timeout never exceeds the request timeout).
    package func applied(to options: KubeClientOptions = KubeClientOptions()) -> KubeClientOptions {
        var options = options
        options.requestTimeout = requestTimeout
        options.connectTimeout = min(options.connectTimeout, requestTimeout)
        options.maxResponseBytes = maxResponseBytes
        return options
    }
}
