package app

// adapterFlag maps a flag of prometheus-adapter to what Podometer takes.
type adapterFlag struct {
	// adapter is prometheus-adapter's flag.
	adapter string
	// podometer is Podometer's flag: the same name, or another; a test
	// checks that the command has it.
	podometer string
	// note says what differs, if anything.
	note string
}

// adapterFlags are prometheus-adapter's flags that a deployment commonly
// sets, in the order of its --help.
var adapterFlags = []adapterFlag{
	{"--prometheus-url", "--prometheus-url", ""},
	{"--metrics-relist-interval", "--metrics-relist-interval", ""},
	{"--metrics-max-age", "--metrics-max-age", ""},
	{"--config", "--config", "read again when it changes, no restart"},
	{"--prometheus-auth-config", "--prometheus-auth-config", ""},
	{"--prometheus-ca-file", "--prometheus-ca-file", ""},
	{"--prometheus-token-file", "--prometheus-token-file", "re-read when it changes"},
	{"--prometheus-header", "--prometheus-header", "Name=Value, repeatable"},
	{"--prometheus-client-tls-cert-file", "--prometheus-client-tls-cert-file", ""},
	{"--prometheus-client-tls-key-file", "--prometheus-client-tls-key-file", ""},
	{"--prometheus-verb", "--prometheus-verb", "default auto: GET while the URL is short, POST beyond"},
	{"--lister-kubeconfig", "--kubeconfig", "one kubeconfig for listing objects, and for authentication and authorization unless their own flags are set"},
	{"--secure-port", "--secure-port", "default 10250: set the port your Service targets"},
	{"--tls-cert-file", "--tls-cert-file", ""},
	{"--tls-private-key-file", "--tls-private-key-file", ""},
	{"--cert-dir", "--cert-dir", ""},
}

// printAdapterFlags writes the flags to carry over, last in the report.
func printAdapterFlags(p *printer) {
	p.line("Flags to carry over (prometheus-adapter -> Podometer):")
	width := 0
	for _, f := range adapterFlags {
		width = max(width, len(f.adapter))
	}
	for _, f := range adapterFlags {
		to := "same name"
		if f.podometer != f.adapter {
			to = f.podometer
		}
		if f.note != "" {
			to += "; " + f.note
		}
		p.line("  %-*s  %s", width, f.adapter, to)
	}
	p.line("Server flags of k8s.io/apiserver (authentication, authorization, audit) keep their names.")
}
