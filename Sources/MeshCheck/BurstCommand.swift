// The in-pod burst command: one exec runs a whole burst of requests and prints Contract 1 (docs/ARCHITECTURE.md) record
// lines. The shell program is a constant; every run-specific value travels as a positional argument
// (after validation here), so nothing a user typed is ever parsed as shell syntax.

import MeshStats

/// Where the burst's requests go.
package struct BurstTarget: Sendable, Equatable {
    package var host: String
    package var port: Int
    package var path: String

    /// `http://helloworld.<namespace>:5000/hello`, the install guide's URL.
    package static func helloWorld(namespace: String) -> BurstTarget {
        BurstTarget(host: "\(Workloads.helloworldApp).\(namespace)", port: Workloads.helloworldPort, path: "/hello")
    }

    package init(host: String, port: Int, path: String) {
        self.host = host
        self.port = port
        self.path = path
    }

    package var url: String { "http://\(host):\(port)\(path)" }

    /// Why this target cannot be handed to the pod, if it cannot.
    package var problem: String? {
        if NameRules.dns1123SubdomainProblem(host) != nil, !BurstTarget.isIPv4(host) {
            return "host must be a DNS name or IPv4 address, got \(NameRules.quoted(host))"
        }
        if !(1...65_535).contains(port) { return "port must be between 1 and 65535, got \(port)" }
        let pathBytes = Array(path.utf8)
        let allowed = pathBytes.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || "/._-".utf8.contains(byte)
        }
        if pathBytes.first != UInt8(ascii: "/") || !allowed || pathBytes.count > 256 {
            return "path must start with / and contain only letters, digits, '/', '.', '_' and '-', got \(NameRules.quoted(path))"
        }
        return nil
    }

    private static func isIPv4(_ host: String) -> Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4
            && parts.allSatisfy { part in
                !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCII) && part.allSatisfy(\.isNumber) && Int(part).map { $0 <= 255 } == true
            }
    }
}

/// A burst that could not be turned into a command (a programming or validation gap upstream).
package struct BurstCommandError: Error, Sendable, Equatable, CustomStringConvertible {
    package var message: String
    package var description: String { "cannot build the in-pod burst command: \(message)" }
}

package struct BurstCommand: Sendable, Equatable {
    package var target: BurstTarget
    /// Burst index, echoed in every record line (distinguishes concurrent bursts in one pod).
    package var burst: Int
    /// Requests in this burst, shared out over the workers.
    package var requests: Int
    /// In-pod workers (1 = sequential).
    package var workers: Int
    /// Paced mode: microseconds between one worker's scheduled starts; 0 = closed loop (no pacing).
    package var intervalMicroseconds: Int
    /// Paced mode: a start this many microseconds or more behind its schedule counts as late.
    package var lateThresholdMicroseconds: Int
    package var connectTimeout: Duration
    package var requestTimeout: Duration
    /// One curl per worker over reused connections (`reuse`), or one curl per request (`fresh`).
    package var connectionReuse: Bool
    /// Starts each of curl's per-transfer lines in the `reuse` engine: random per burst, so a response body cannot
    /// forge one. Letters and digits, 8 to 64 of them.
    package var transferMarker: String

    package init(
        target: BurstTarget, burst: Int, requests: Int, workers: Int, intervalMicroseconds: Int,
        lateThresholdMicroseconds: Int, connectTimeout: Duration, requestTimeout: Duration, connectionReuse: Bool = false,
        transferMarker: String = BurstCommand.randomMarker()
    ) {
        self.target = target
        self.burst = burst
        self.requests = requests
        self.workers = workers
        self.intervalMicroseconds = intervalMicroseconds
        self.lateThresholdMicroseconds = lateThresholdMicroseconds
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.connectionReuse = connectionReuse
        self.transferMarker = transferMarker
    }

    /// 24 random letters and digits.
    package static func randomMarker() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<24).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    /// The burst number `burst` of a scenario's load settings.
    package init(target: BurstTarget, burst: Int, load: LoadSettings) {
        let workers = load.workersPerBurst
        var interval = 0
        var threshold = 0
        if let paced = load.pacingIntervalMicroseconds {
            interval = paced
            // Late = more than a tenth of the interval behind (at least 1 ms: sh, fork and sleep jitter).
            threshold = max(1000, interval / 10)
        }
        self.init(
            target: target, burst: burst, requests: load.requestsPerBurst, workers: workers,
            intervalMicroseconds: interval, lateThresholdMicroseconds: threshold,
            connectTimeout: load.connectTimeout, requestTimeout: load.requestTimeout, connectionReuse: load.connectionReuse)
    }

    package var isPaced: Bool { intervalMicroseconds > 0 }

    /// The most output (stdout and stderr) an exec of this command is allowed before meshcheck stops it. The program
    /// prints a record line per request and a few framing lines per worker, none longer than the parser's 1 KiB,
    /// plus at most a line of curl's stderr per request; four times that and 1 MiB more leaves a wide margin. A
    /// session past it is not running this program, and reading on would only burn CPU to the burst deadline.
    package var maxOutputBytes: Int {
        let lines = requests + 4 * workers
        return (1 << 20) + lines * 4 * 2 * RecordStreamParser.maximumLineLength
    }

    /// Requests worker `worker` runs: an even share, the first `requests % workers` workers one more.
    package func requests(ofWorker worker: Int) -> Int {
        requests / workers + (worker < requests % workers ? 1 : 0)
    }

    /// The program this command runs: ``script`` (one curl per request) or ``reuseScript``.
    package var program: String { connectionReuse ? Self.reuseScript : Self.script }

    /// `["/bin/sh", "-c", program, "meshcheck", url, burst, requests, workers, intervalUs, lateThresholdUs,
    /// connectTimeout, maxTime, engine, marker]`, for the pod exec API's repeated `command` parameter.
    package func argv() throws(BurstCommandError) -> [String] {
        try argv(shell: ["/bin/sh"])
    }

    /// The same command run by another shell (tests run it with dash and `busybox sh`).
    package func argv(shell: [String]) throws(BurstCommandError) -> [String] {
        if let problem = target.problem { throw BurstCommandError(message: problem) }
        guard burst >= 0 else { throw BurstCommandError(message: "burst index must not be negative, got \(burst)") }
        guard requests >= 1 else { throw BurstCommandError(message: "a burst needs at least one request, got \(requests)") }
        guard (1...requests).contains(workers) else {
            throw BurstCommandError(message: "workers must be between 1 and the burst's \(requests) requests, got \(workers)")
        }
        guard intervalMicroseconds >= 0, lateThresholdMicroseconds >= 0 else {
            throw BurstCommandError(message: "pacing interval and late threshold must not be negative")
        }
        guard connectTimeout > .zero, requestTimeout > .zero else {
            throw BurstCommandError(message: "timeouts must be positive")
        }
        if connectionReuse {
            let isLetterOrDigit: (UInt8) -> Bool = { (0x30...0x39).contains($0) || (0x41...0x5a).contains($0) || (0x61...0x7a).contains($0) }
            guard (8...64).contains(transferMarker.utf8.count), transferMarker.utf8.allSatisfy(isLetterOrDigit) else {
                throw BurstCommandError(message: "the transfer marker must be 8 to 64 ASCII letters and digits")
            }
            guard intervalMicroseconds % 1000 == 0 else {
                throw BurstCommandError(message: "with connection reuse, the pacing interval must be whole milliseconds (curl's --rate)")
            }
        }
        return shell + [
            "-c", program, "meshcheck", target.url, String(burst), String(requests), String(workers),
            String(intervalMicroseconds), String(lateThresholdMicroseconds),
            BurstCommand.seconds(connectTimeout), BurstCommand.seconds(requestTimeout),
            connectionReuse ? "reuse" : "fresh", connectionReuse ? transferMarker : "-",
        ]
    }

    /// curl's timeout syntax: decimal seconds with millisecond precision (`10`, `0.25`).
    static func seconds(_ duration: Duration) -> String {
        let milliseconds = max(1, duration.wholeMilliseconds)
        let whole = milliseconds / 1000
        let fraction = milliseconds % 1000
        if fraction == 0 { return String(whole) }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 3 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits)"
    }

    /// The POSIX sh program. Positional parameters: $1 url, $2 burst, $3 requests, $4 workers,
    /// $5 pacing interval µs per worker (0 = none), $6 late threshold µs, $7 connect timeout s, $8 max time s,
    /// $9 engine (`reuse` or `fresh`), $10 the marker of curl's per-transfer lines (`reuse` only).
    ///
    /// Output per worker: `MC1-BEGIN b w`, one `MC1 b w seq status curlExit connect ttfb total version instance`
    /// per request, in paced mode `MC1-LATE b w lateStarts maxLagUs`, then `MC1-END b w count`. Each line is
    /// one printf, so lines of parallel workers never interleave.
    ///
    /// `fresh` runs one curl per request (the install guide's behaviour: every request opens its own connection).
    /// Pacing uses `date +%s%N` when the pod's date has nanoseconds, else a virtual clock advanced by curl's own
    /// `time_total` and the sleeps.
    ///
    /// `reuse` runs one curl per worker over all its requests (a config on stdin listing the URL once per
    /// request), so the connection to the sidecar stays open and each request costs a transfer, not a process.
    /// Unpaced, curl runs them through one multi handle (`-Z --parallel-max 1`: still one at a time, in order),
    /// which saves it a socketpair and a dozen signal-handler calls per transfer.
    /// curl writes each body followed by a `-w` line behind the marker (random per burst, so no body can forge one;
    /// after a body without a final newline it shares that line); a reader turns body + line into the same record
    /// line. The reader writes its records in batches of up to 16 (fewer in paced mode, about 100 ms of schedule),
    /// each batch one printf of less than 1000 bytes, so a batch is one atomic pipe write that never interleaves
    /// with another worker's and fits a musl stdio buffer; a run stopped mid-burst loses at most a batch per worker,
    /// counted as missing. Pacing is curl's `--rate`, which
    /// waits until the interval has passed since the previous start; lateness is derived from curl's own
    /// `time_total` under that rule. Transfers curl never reported (it could not run, or was stopped) get
    /// status 000 and curl's exit status, as the `fresh` engine would print them.
    package static let script = common + "\n" + freshEngine + "\n" + launch(worker: "worker")

    /// The `reuse` engine's program: the same start, then one curl per worker and its reader.
    package static let reuseScript = common + "\n" + reuseEngine + "\n" + launch(worker: "reuse_worker")

    /// Arguments, their checks, and the helpers both engines use.
    private static let common = #"""
        set -f
        url=$1 burst=$2 total=$3 workers=$4 interval=$5 threshold=$6 ctimeout=$7 mtimeout=$8 engine=${9:-fresh} mark=${10:-}
        nl='
        '
        cr=$(printf '\r')
        for n in "$burst" "$total" "$workers" "$interval" "$threshold"; do
          case $n in ''|*[!0-9]*) echo "meshcheck: bad numeric argument: $n" >&2; exit 2 ;; esac
        done
        case $engine in
          fresh) ;;
          reuse) case $mark in ????????*) case $mark in *[!A-Za-z0-9]*) echo "meshcheck: bad marker" >&2; exit 2 ;; esac ;;
                 *) echo "meshcheck: bad marker" >&2; exit 2 ;; esac ;;
          *) echo "meshcheck: bad engine: $engine" >&2; exit 2 ;;
        esac
        sanitize() {
          while :; do
            case $tok in
              *[!A-Za-z0-9._-]*) head=${tok%%[!A-Za-z0-9._-]*}; tok=$head-${tok#"$head"?} ;;
              *) break ;;
            esac
          done
          while [ ${#tok} -gt 320 ]; do tok=${tok%????????????????????????????????????????????????????????????????}; done
          while [ ${#tok} -gt 253 ]; do tok=${tok%?}; done
          [ -n "$tok" ] || tok=-
        }
        seconds() {
          case $1 in ''|*[!0-9.]*|*.*.*|.*) sec=0.000000 ;; *) sec=$1 ;; esac
        }
        to_us() {
          whole=${1%%.*} frac=
          case $1 in *.*) frac=${1#*.} ;; esac
          frac=${frac}000000
          frac=${frac%"${frac#??????}"}
          frac=${frac#"${frac%%[!0]*}"}
          whole=${whole#"${whole%%[!0]*}"}
          us=$(( ${whole:-0} * 1000000 + ${frac:-0} ))
        }
        sleep_us() {
          frac=000000$(( $1 % 1000000 ))
          frac=${frac#"${frac%??????}"}
          sleep "$(( $1 / 1000000 )).$frac"
        }
        identify() {
          version=- instance=-
          case $body in
            *"version: "*", instance: "*)
              tok=${body#*"version: "}; tok=${tok%%,*}; sanitize; version=$tok
              tok=${body#*", instance: "}; tok=${tok%%"$nl"*}; tok=${tok%"$cr"}; sanitize; instance=$tok ;;
          esac
        }
        """#

    /// One curl per request, paced by the pod's clock.
    private static let freshEngine = #"""
        clock=no
        t=$(date +%s%N 2>/dev/null)
        case $t in ''|*[!0-9]*) ;; *) if [ ${#t} -ge 19 ]; then clock=yes; t0=${t%???}; fi ;; esac
        now() {
          if [ $clock = yes ]; then t=$(date +%s%N); nowus=$(( ${t%???} - t0 )); else nowus=$vnow; fi
        }
        request() {
          out=$(curl -s --connect-timeout "$ctimeout" --max-time "$mtimeout" -w '\n%{http_code} %{time_connect} %{time_starttransfer} %{time_total}' "$url" 2>/dev/null)
          rc=$?
          metrics=${out##*"$nl"}
          case $out in *"$nl"*) body=${out%"$nl"*} ;; *) body= ;; esac
          status=000 tc=0.000000 tt=0.000000 tot=0.000000
          set -- $metrics
          if [ $# -eq 4 ]; then
            case $1 in [0-9][0-9][0-9]) status=$1 ;; esac
            seconds "$2"; tc=$sec
            seconds "$3"; tt=$sec
            seconds "$4"; tot=$sec
          fi
          identify
          printf 'MC1 %s %s %s %s %s %s %s %s %s %s\n' "$burst" "$w" "$seq" "$status" "$rc" "$tc" "$tt" "$tot" "$version" "$instance"
        }
        worker() {
          w=$1 n=$2 seq=0 late=0 maxlag=0 vnow=0
          offset=$(( interval * w / workers ))
          printf 'MC1-BEGIN %s %s\n' "$burst" "$w"
          while [ $seq -lt $n ]; do
            if [ $interval -gt 0 ]; then
              now
              gap=$(( offset + seq * interval - nowus ))
              if [ $gap -gt 0 ]; then
                sleep_us $gap; vnow=$(( vnow + gap ))
              elif [ $(( -gap )) -ge $threshold ] && [ $threshold -gt 0 ]; then
                late=$(( late + 1 ))
                [ $(( -gap )) -gt $maxlag ] && maxlag=$(( -gap ))
              fi
            fi
            request
            if [ $interval -gt 0 ] && [ $clock = no ]; then to_us "$tot"; vnow=$(( vnow + us )); fi
            seq=$(( seq + 1 ))
          done
          if [ $interval -gt 0 ]; then printf 'MC1-LATE %s %s %s %s\n' "$burst" "$w" "$late" "$maxlag"; fi
          printf 'MC1-END %s %s %s\n' "$burst" "$w" "$seq"
        }
        """#

    /// One curl per worker over kept-open connections, and the reader of its output (awk, or sh without awk).
    private static let reuseEngine = #"""
        transfers() {
          i=0
          while [ $i -lt $1 ]; do printf 'url = "%s"\n' "$url"; i=$(( i + 1 )); done
        }
        reader() {
          w=$1 n=$2 seq=0 late=0 maxlag=0 vstart=0 rc= body= batch= lines=0 flushat=16
          if [ $interval -gt 0 ]; then
            flushat=$(( 100000 / interval ))
            [ $flushat -lt 1 ] && flushat=1
            [ $flushat -gt 16 ] && flushat=16
          fi
          while IFS= read -r line || [ -n "$line" ]; do
            case $line in
              *"$mark "*)
                tok=${line%%"$mark "*}
                case $tok in *"version: "*", instance: "*) [ -n "$body" ] || body=$tok ;; esac
                set -- ${line#*"$mark "}
                status=000 xrc=255 tc=0.000000 tt=0.000000 tot=0.000000
                if [ $# -eq 5 ]; then
                  case $1 in [0-9][0-9][0-9]) status=$1 ;; esac
                  case $2 in ''|*[!0-9]*) ;; *) xrc=$2 ;; esac
                  seconds "$3"; tc=$sec
                  seconds "$4"; tt=$sec
                  seconds "$5"; tot=$sec
                fi
                identify
                if [ $interval -gt 0 ]; then
                  lag=$(( vstart - seq * interval ))
                  if [ $threshold -gt 0 ] && [ $lag -ge $threshold ]; then
                    late=$(( late + 1 ))
                    [ $lag -gt $maxlag ] && maxlag=$lag
                  fi
                  to_us "$tot"
                  [ $us -gt $interval ] && vstart=$(( vstart + us )) || vstart=$(( vstart + interval ))
                fi
                record="MC1 $burst $w $seq $status $xrc $tc $tt $tot $version $instance"
                if [ $(( ${#batch} + ${#record} )) -ge 1000 ]; then printf '%s' "$batch"; batch= lines=0; fi
                batch=$batch$record$nl lines=$(( lines + 1 ))
                if [ $lines -ge $flushat ]; then printf '%s' "$batch"; batch= lines=0; fi
                seq=$(( seq + 1 )) body= ;;
              *"$mark-EXIT "*) rc=${line#*"$mark-EXIT "} ;;
              *"version: "*", instance: "*) [ -n "$body" ] || body=$line ;;
            esac
          done
          printf '%s' "$batch"
          case $rc in ''|*[!0-9]*) rc=255 ;; esac
          while [ $seq -lt $n ]; do
            printf 'MC1 %s %s %s 000 %s 0.000000 0.000000 0.000000 - -\n' "$burst" "$w" "$seq" "$rc"
            seq=$(( seq + 1 ))
          done
          if [ $interval -gt 0 ]; then printf 'MC1-LATE %s %s %s %s\n' "$burst" "$w" "$late" "$maxlag"; fi
          printf 'MC1-END %s %s %s\n' "$burst" "$w" "$seq"
        }
        reuse_worker() {
          printf 'MC1-BEGIN %s %s\n' "$burst" "$1"
          set -- "$1" "$2" -Z --parallel-max 1 --no-progress-meter
          if [ $interval -gt 0 ]; then
            offset=$(( interval * $1 / workers ))
            [ $offset -gt 0 ] && sleep_us $offset
            set -- "$1" "$2" --rate "$(( 3600000000 / interval ))/h"
          fi
          transfers "$2" | {
            shift 2
            curl -s -K - "$@" --connect-timeout "$ctimeout" --max-time "$mtimeout" \
              -w "$mark %{http_code} %{exitcode} %{time_connect} %{time_starttransfer} %{time_total}\n" 2>/dev/null
            printf '\n%s-EXIT %s\n' "$mark" "$?"
          } | if [ $fastreader = yes ]; then
            awk $awkpaced -v mark="$mark" -v b="$burst" -v w="$1" -v n="$2" -v interval="$interval" -v threshold="$threshold" "$awkreader"
          else
            reader "$1" "$2"
          fi
        }
        # The same reader in awk where the pod has one: it reads its input in blocks, where sh's read takes a
        # system call per byte, which made the reader cost as much as curl.
        fastreader=no awkpaced=
        if [ $engine = reuse ] && command -v awk >/dev/null 2>&1 && [ "$(echo 'a b' | awk '{ print $2 }' 2>/dev/null)" = b ]; then
          fastreader=yes
          # mawk (Debian's awk) fills a 4 KiB block before it reads a line: paced records would reach meshcheck seconds
          # late, in clumps, and land in the wrong windows of the timeline. -W interactive makes it read line by line.
          case "$(awk -W version 2>&1)" in mawk*) [ $interval -gt 0 ] && awkpaced='-W interactive' ;; esac
        fi
        awkreader='
        function token(s) {
          gsub(/[^A-Za-z0-9._-]/, "-", s)
          if (length(s) > 253) s = substr(s, 1, 253)
          return s == "" ? "-" : s
        }
        function seconds(s) { return s ~ /^[0-9]+(\.[0-9]*)?$/ ? s : "0.000000" }
        function micros(s,   dot, frac) {
          dot = index(s, ".")
          if (dot == 0) return s * 1000000
          frac = substr(substr(s, dot + 1) "000000", 1, 6)
          return substr(s, 1, dot - 1) * 1000000 + frac
        }
        function candidate(l,   v) {
          v = index(l, "version: ")
          if (v > 0 && index(substr(l, v + 9), ", instance: ") > 0 && body == "") body = l
        }
        function flush() { if (batch != "") { printf "%s", batch; fflush(); batch = ""; lines = 0 } }
        BEGIN {
          seq = 0; late = 0; maxlag = 0; vstart = 0; rc = ""; body = ""; batch = ""; lines = 0; flushat = 16
          if (interval > 0) { flushat = int(100000 / interval); if (flushat < 1) flushat = 1; if (flushat > 16) flushat = 16 }
        }
        {
          at = index($0, mark " ")
          if (at > 0) {
            candidate(substr($0, 1, at - 1))
            split(substr($0, at + length(mark) + 1), f, " ")
            status = "000"; xrc = 255; tc = "0.000000"; tt = "0.000000"; tot = "0.000000"
            if (f[5] != "" && f[6] == "") {
              if (f[1] ~ /^[0-9][0-9][0-9]$/) status = f[1]
              if (f[2] ~ /^[0-9]+$/) xrc = f[2]
              tc = seconds(f[3]); tt = seconds(f[4]); tot = seconds(f[5])
            }
            version = "-"; instance = "-"
            v = index(body, "version: ")
            if (v > 0) {
              version = substr(body, v + 9); c = index(version, ","); if (c > 0) version = substr(version, 1, c - 1)
              version = token(version)
              instance = substr(body, index(body, ", instance: ") + 12); sub(/\r$/, "", instance); instance = token(instance)
            }
            if (interval > 0) {
              lag = vstart - seq * interval
              if (threshold > 0 && lag >= threshold) { late++; if (lag > maxlag) maxlag = lag }
              us = micros(tot); vstart += us > interval ? us : interval
            }
            record = "MC1 " b " " w " " seq " " status " " xrc " " tc " " tt " " tot " " version " " instance
            if (length(batch) + length(record) >= 1000) flush()
            batch = batch record "\n"; lines++
            if (lines >= flushat) flush()
            seq++; body = ""
            next
          }
          at = index($0, mark "-EXIT ")
          if (at > 0) { rc = substr($0, at + length(mark) + 6); next }
          candidate($0)
        }
        END {
          flush()
          if (rc !~ /^[0-9]+$/) rc = 255
          for (; seq < n; seq++) printf "MC1 %s %s %d 000 %s 0.000000 0.000000 0.000000 - -\n", b, w, seq, rc
          if (interval > 0) printf "MC1-LATE %s %s %d %d\n", b, w, late, maxlag
          printf "MC1-END %s %s %d\n", b, w, seq
        }'

        """#

    /// Runs `worker` once, or `workers` times in the background and waits for them all.
    private static func launch(worker: String) -> String {
        """
        if [ "$workers" -le 1 ]; then
          \(worker) 0 "$total"
        else
          i=0
          while [ $i -lt "$workers" ]; do
            \(worker) $i $(( total / workers + (i < total % workers) )) &
            i=$(( i + 1 ))
          done
          wait
        fi
        """
    }
}
