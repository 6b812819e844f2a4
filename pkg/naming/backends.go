package naming

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/podometer/podometer/pkg/promclient"
)

// DefaultBackend names the Prometheus of the --prometheus-* flags. A rule
// without a backend key reads from it, and a rule may name it.
const DefaultBackend = "default"

// Backend is one entry of the backends section: a Prometheus HTTP API
// other than the flags' that rules may read from (their backend key), with
// the same TLS, credential and header options as the flags. Podometer
// extension; optional.
type Backend struct {
	// Name is what rules call it: 1 to 63 of a-z 0-9 and -, starting and
	// ending with a letter or digit; unique; not "default", which is the
	// flags' backend.
	Name string `json:"name" yaml:"name"`
	// URL is the base URL of the Prometheus HTTP API (--prometheus-url).
	URL string `json:"url" yaml:"url"`
	// Headers are added to every request (--prometheus-header), e.g.
	// X-Scope-OrgID for a Mimir or Cortex tenant.
	Headers map[string]string `json:"headers,omitempty" yaml:"headers,omitempty"`
	// TokenFile holds a bearer token, re-read as it changes
	// (--prometheus-token-file).
	TokenFile string `json:"tokenFile,omitempty" yaml:"tokenFile,omitempty"`
	// Username and PasswordFile are HTTP basic credentials
	// (--prometheus-username, --prometheus-password-file).
	Username     string `json:"username,omitempty" yaml:"username,omitempty"`
	PasswordFile string `json:"passwordFile,omitempty" yaml:"passwordFile,omitempty"`
	// CAFile verifies the backend's serving certificate
	// (--prometheus-ca-file).
	CAFile string `json:"caFile,omitempty" yaml:"caFile,omitempty"`
	// ClientCertFile and ClientKeyFile are a client certificate
	// (--prometheus-client-tls-cert-file, --prometheus-client-tls-key-file).
	ClientCertFile string `json:"clientCertFile,omitempty" yaml:"clientCertFile,omitempty"`
	ClientKeyFile  string `json:"clientKeyFile,omitempty" yaml:"clientKeyFile,omitempty"`
	// Verb is auto, GET or POST (--prometheus-verb); auto when empty.
	Verb string `json:"verb,omitempty" yaml:"verb,omitempty"`
	// QueryTimeout bounds one query to this backend, e.g. "30s"
	// (--prometheus-query-timeout, whose value applies when it is unset).
	QueryTimeout time.Duration `json:"queryTimeout,omitempty" yaml:"queryTimeout,omitempty"`
	// AllowPartialResponse serves answers that came with warnings from
	// the backend's storage (Thanos' partial response) instead of failing
	// them (--prometheus-allow-partial-response): for a backend that
	// deduplicates replicas, where one replica missing leaves the answer
	// whole.
	AllowPartialResponse bool `json:"allowPartialResponse,omitempty" yaml:"allowPartialResponse,omitempty"`

	problems []*RuleError
}

// ClientConfig is how to reach the backend. Call it on a backend that
// passed validation (Compiled.Backends).
func (b *Backend) ClientConfig() promclient.Config {
	c := promclient.Config{
		URL:            b.URL,
		CAFile:         b.CAFile,
		ClientCertFile: b.ClientCertFile,
		ClientKeyFile:  b.ClientKeyFile,
		TokenFile:      b.TokenFile,
		Username:       b.Username,
		PasswordFile:   b.PasswordFile,
		Verb:           promclient.VerbAuto,
	}
	if v := promclient.Verb(strings.ToUpper(b.Verb)); v == promclient.VerbGET || v == promclient.VerbPOST {
		c.Verb = v
	}
	if len(b.Headers) > 0 {
		// validated: headerList never fails here
		c.Headers, _ = promclient.ParseHeaders(b.headerList())
	}
	return c
}

// headerList is Headers in the flags' form, sorted by name.
func (b *Backend) headerList() []string {
	out := make([]string, 0, len(b.Headers))
	for name, value := range b.Headers {
		out = append(out, name+": "+value)
	}
	sort.Strings(out)
	return out
}

// Equal tells whether two backends are configured alike.
func (b *Backend) Equal(o *Backend) bool {
	return b.Name == o.Name && b.URL == o.URL && b.TokenFile == o.TokenFile && b.Username == o.Username &&
		b.PasswordFile == o.PasswordFile && b.CAFile == o.CAFile && b.ClientCertFile == o.ClientCertFile &&
		b.ClientKeyFile == o.ClientKeyFile && strings.EqualFold(b.Verb, o.Verb) && b.QueryTimeout == o.QueryTimeout &&
		b.AllowPartialResponse == o.AllowPartialResponse && slices.Equal(b.headerList(), o.headerList())
}

// decodeBackends decodes the backends section.
func (c *Config) decodeBackends(n *yaml.Node) []Backend {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		c.problems = append(c.problems, &RuleError{Field: "backends", Fatal: true,
			Err: fmt.Errorf("line %d: must be a list of backends, not a %s", n.Line, kindName(n))})
		return nil
	}
	out := make([]Backend, len(n.Content))
	for i, item := range n.Content {
		out[i].problems = decodeStrict(resolveAlias(item), &out[i], "")
	}
	return out
}

var backendNamePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// backendState is what a rule's backend key may refer to: a backend that
// passed validation (ok), or one that did not, at its place in the file.
type backendState struct {
	ref string
	ok  bool
}

// checkBackends validates the backends section. It returns, by name,
// every backend a rule may name (the default one included) and whether
// it can be used, and the backends that passed.
func checkBackends(backends []Backend) (map[string]backendState, []Backend, []*RuleError) {
	known := map[string]backendState{DefaultBackend: {ref: "the --prometheus-* flags", ok: true}}
	var good []Backend
	var problems []*RuleError
	for i := range backends {
		b := &backends[i]
		ref := ruleRef("backends", i)
		var mine []*RuleError
		for _, p := range b.problems {
			mine = append(mine, p.withRule("backends", i, b.Name))
		}
		fail := func(field string, err error) {
			mine = append(mine, &RuleError{Rule: ref, ID: b.Name, Field: field, Fatal: true, Err: err})
		}
		switch {
		case b.Name == "":
			fail("name", errors.New("required: what rules call this backend in their backend key"))
		case b.Name == DefaultBackend:
			fail("name", fmt.Errorf("%q is the backend of the --prometheus-* flags; choose another name", DefaultBackend))
		case !backendNamePattern.MatchString(b.Name):
			fail("name", fmt.Errorf("%q is not a backend name: use 1 to 63 of a-z 0-9 and -, starting and ending with a letter or digit", b.Name))
		default:
			if prev, dup := known[b.Name]; dup {
				fail("name", fmt.Errorf("%q is already the name of %s", b.Name, prev.ref))
			}
		}
		if b.URL == "" {
			fail("url", errors.New("required: the base URL of the Prometheus HTTP API"))
		} else if err := promclient.ValidateURL(b.URL); err != nil {
			fail("url", err)
		}
		for name, value := range b.Headers {
			if _, err := promclient.ParseHeaders([]string{name + ": " + value}); err != nil || strings.Contains(name, ":") {
				fail("headers."+name, errors.New("not a valid header: a name without spaces or colons, a value on one line"))
			}
		}
		switch promclient.Verb(strings.ToUpper(b.Verb)) {
		case "", "AUTO", promclient.VerbGET, promclient.VerbPOST:
		default:
			fail("verb", fmt.Errorf("must be auto, GET or POST, got %q", b.Verb))
		}
		if b.QueryTimeout < 0 {
			fail("queryTimeout", fmt.Errorf("must be positive, got %s", b.QueryTimeout))
		}
		if (b.Username == "") != (b.PasswordFile == "") {
			fail("username", errors.New("username and passwordFile must be given together"))
		}
		if (b.ClientCertFile == "") != (b.ClientKeyFile == "") {
			fail("clientCertFile", errors.New("clientCertFile and clientKeyFile must be given together"))
		}
		if b.TokenFile != "" && b.Username != "" {
			fail("tokenFile", errors.New("give tokenFile or username and passwordFile, not both"))
		}
		for _, f := range []struct{ field, path string }{
			{"tokenFile", b.TokenFile}, {"passwordFile", b.PasswordFile}, {"caFile", b.CAFile},
			{"clientCertFile", b.ClientCertFile}, {"clientKeyFile", b.ClientKeyFile},
		} {
			if f.path == "" {
				continue
			}
			if _, err := os.ReadFile(f.path); err != nil {
				fail(f.field, fmt.Errorf("cannot be read: %w", err))
			}
		}
		sortProblems(mine)
		problems = append(problems, mine...)
		if b.Name == "" || b.Name == DefaultBackend {
			continue
		}
		if _, dup := known[b.Name]; dup {
			continue
		}
		ok := !anyFatal(mine)
		known[b.Name] = backendState{ref: ref, ok: ok}
		if ok {
			good = append(good, *b)
		}
	}
	return known, good, problems
}

// checkBackendRef checks a rule's backend key against the backends known.
func checkBackendRef(name string, known map[string]backendState) (string, error) {
	if name == "" {
		return DefaultBackend, nil
	}
	st, ok := known[name]
	if !ok {
		names := make([]string, 0, len(known))
		for n := range known {
			names = append(names, n)
		}
		sort.Strings(names)
		return "", fmt.Errorf("unknown backend %q: the backends are %s (default is the --prometheus-* flags')", name, strings.Join(names, ", "))
	}
	if !st.ok {
		return "", fmt.Errorf("backend %q cannot be used: see the errors of %s", name, st.ref)
	}
	return name, nil
}
