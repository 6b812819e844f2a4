package framework

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"slices"
	"testing"
)

func TestNewPKI(t *testing.T) {
	p, err := NewPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ca := loadPool(t, p.CAFile)
	frontProxyCA := loadPool(t, p.FrontProxyCAFile)

	tests := []struct {
		name      string
		cert, key string
		roots     *x509.CertPool
		usage     x509.ExtKeyUsage
		host      string // verified as a DNS name or IP when set
		cn        string
		orgs      []string
	}{
		{name: "apiserver serving", cert: p.APIServerCert, key: p.APIServerKey, roots: ca, usage: x509.ExtKeyUsageServerAuth, host: "127.0.0.1"},
		{name: "apiserver as localhost", cert: p.APIServerCert, key: p.APIServerKey, roots: ca, usage: x509.ExtKeyUsageServerAuth, host: "localhost"},
		{name: "kwok serving", cert: p.KwokCert, key: p.KwokKey, roots: ca, usage: x509.ExtKeyUsageServerAuth, host: "127.0.0.1"},
		{name: "controller-manager serving", cert: p.ControllerManagerCert, key: p.ControllerManagerKey, roots: ca, usage: x509.ExtKeyUsageServerAuth, host: "127.0.0.1"},
		{name: "admin client", cert: p.AdminCert, key: p.AdminKey, roots: ca, usage: x509.ExtKeyUsageClientAuth, orgs: []string{"system:masters"}},
		{name: "front-proxy client", cert: p.FrontProxyClientCert, key: p.FrontProxyClientKey, roots: frontProxyCA, usage: x509.ExtKeyUsageClientAuth, cn: "front-proxy-client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pair, err := tls.LoadX509KeyPair(tt.cert, tt.key)
			if err != nil {
				t.Fatalf("key pair does not load: %v", err)
			}
			cert := pair.Leaf
			if _, err := cert.Verify(x509.VerifyOptions{Roots: tt.roots, DNSName: tt.host, KeyUsages: []x509.ExtKeyUsage{tt.usage}}); err != nil {
				t.Errorf("does not verify: %v", err)
			}
			if tt.cn != "" && cert.Subject.CommonName != tt.cn {
				t.Errorf("CN = %q, want %q", cert.Subject.CommonName, tt.cn)
			}
			if tt.orgs != nil && !slices.Equal(cert.Subject.Organization, tt.orgs) {
				t.Errorf("O = %v, want %v", cert.Subject.Organization, tt.orgs)
			}
		})
	}

	t.Run("front-proxy client is not trusted by the cluster CA", func(t *testing.T) {
		pair, err := tls.LoadX509KeyPair(p.FrontProxyClientCert, p.FrontProxyClientKey)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pair.Leaf.Verify(x509.VerifyOptions{Roots: ca, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
			t.Error("verifies against the cluster CA; the two CAs must be separate")
		}
	})

	t.Run("service-account key is RSA", func(t *testing.T) {
		data, err := os.ReadFile(p.ServiceAccountKey)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(data)
		if block == nil {
			t.Fatal("no PEM block")
		}
		if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
			t.Errorf("not an RSA key: %v", err)
		}
	})
}

func loadPool(t *testing.T, path string) *x509.CertPool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		t.Fatalf("no certificate in %s", path)
	}
	return pool
}
