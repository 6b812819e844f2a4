package farm

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// TLS faults: a node served on a 127.0.0.1 port of its own, whose serving
// certificate a careful client refuses. The healthy nodes stay on the
// shared listener; a caller points the faulty node's kubelet port
// (status.daemonEndpoints.kubeletEndpoint.Port) at NodePort.

// TLSFault is what is wrong with a node's own serving certificate.
type TLSFault int

// The TLS faults.
const (
	// TLSUnknownCA: a certificate for 127.0.0.1 that a CA nobody trusts
	// signed.
	TLSUnknownCA TLSFault = iota + 1
	// TLSExpired: a certificate for 127.0.0.1 that the farm's Issuer
	// signed, expired a day ago.
	TLSExpired
	// TLSWrongAddress: a valid certificate that the farm's Issuer signed
	// for another address (192.0.2.1, kubelet.invalid), not 127.0.0.1.
	TLSWrongAddress
)

func (t TLSFault) String() string {
	switch t {
	case TLSUnknownCA:
		return "tls-unknown-ca"
	case TLSExpired:
		return "tls-expired"
	case TLSWrongAddress:
		return "tls-wrong-address"
	}
	return "tls-fault(" + strconv.Itoa(int(t)) + ")"
}

// nodeListener serves one node on its own port.
type nodeListener struct {
	fault    TLSFault
	srv      *http.Server
	listener net.Listener
	serveErr chan error
}

func (nl *nodeListener) port() int { return nl.listener.Addr().(*net.TCPAddr).Port }

func (nl *nodeListener) close() error {
	err := nl.srv.Close()
	if serr := <-nl.serveErr; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// certificate returns the serving certificate of fault.
func (f *Farm) certificate(fault TLSFault) (tls.Certificate, error) {
	switch fault {
	case TLSUnknownCA:
		stranger, err := newIssuer("podometer-bench-unknown-ca")
		if err != nil {
			return tls.Certificate{}, err
		}
		return stranger.issue(loopbackCert())
	case TLSExpired:
		iss, err := f.Issuer()
		if err != nil {
			return tls.Certificate{}, err
		}
		sc := loopbackCert()
		now := time.Now()
		sc.notBefore, sc.notAfter = now.Add(-8*24*time.Hour), now.Add(-24*time.Hour)
		return iss.issue(sc)
	case TLSWrongAddress:
		iss, err := f.Issuer()
		if err != nil {
			return tls.Certificate{}, err
		}
		sc := loopbackCert()
		sc.ips = []net.IP{net.IPv4(192, 0, 2, 1)} // TEST-NET-1
		sc.dnsNames = []string{"kubelet.invalid"}
		return iss.issue(sc)
	}
	return tls.Certificate{}, fmt.Errorf("farm: unknown TLS fault %d", fault)
}

// ServeNodeTLS serves node on a free port of 127.0.0.1 of its own, with
// the certificate of fault, and returns the port; a node served so already
// gets a new listener. The node's endpoints there are the farm's (with
// their faults, if any); other nodes' paths answer 404. The shared
// listener keeps serving the node too.
func (f *Farm) ServeNodeTLS(node string, fault TLSFault) (int, error) {
	f.mu.RLock()
	_, ok := f.nodes[node]
	f.mu.RUnlock()
	if !ok {
		return 0, fmt.Errorf("farm: TLS fault of node %s: no such node", node)
	}
	cert, err := f.certificate(fault)
	if err != nil {
		return 0, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("farm: listen for node %s: %w", node, err)
	}
	prefix := "/nodes/" + node + "/"
	all := f.Handler()
	nl := &nodeListener{
		fault:    fault,
		listener: l,
		serveErr: make(chan error, 1),
		srv: &http.Server{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !strings.HasPrefix(r.URL.Path, prefix) {
					http.NotFound(w, r)
					return
				}
				all.ServeHTTP(w, r)
			}),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
			// A client's refused handshake is what this listener is
			// for, not news.
			ErrorLog: log.New(io.Discard, "", 0),
		},
	}
	go func() { nl.serveErr <- nl.srv.ServeTLS(l, "", "") }()

	f.faultMu.Lock()
	old := f.tlsNodes[node]
	f.tlsNodes[node] = nl
	f.faultMu.Unlock()
	if old != nil {
		_ = old.close()
	}
	return nl.port(), nil
}

// StopNodeTLS stops node's own listener, if it has one: its kubelet port
// is the shared one again.
func (f *Farm) StopNodeTLS(node string) error {
	f.faultMu.Lock()
	nl := f.tlsNodes[node]
	delete(f.tlsNodes, node)
	f.faultMu.Unlock()
	if nl == nil {
		return nil
	}
	return nl.close()
}

// NodePort is the port node is to be reached on: its own listener's
// (ServeNodeTLS), or the shared one (after Start).
func (f *Farm) NodePort(node string) int {
	f.faultMu.RLock()
	nl := f.tlsNodes[node]
	f.faultMu.RUnlock()
	if nl != nil {
		return nl.port()
	}
	return f.Port()
}

// NodeURL is https://127.0.0.1:<NodePort(node)>.
func (f *Farm) NodeURL(node string) string {
	return "https://127.0.0.1:" + strconv.Itoa(f.NodePort(node))
}

// closeNodeListeners stops every node's own listener.
func (f *Farm) closeNodeListeners() error {
	f.faultMu.Lock()
	listeners := f.tlsNodes
	f.tlsNodes = map[string]*nodeListener{}
	f.faultMu.Unlock()
	var errs []error
	for _, nl := range listeners {
		errs = append(errs, nl.close())
	}
	return errors.Join(errs...)
}
