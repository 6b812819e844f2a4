package framework

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// PKI holds the paths of the cluster's certificates and keys (PEM files).
type PKI struct {
	CAFile string // cluster CA: signs serving and client certificates
	CAKey  string

	APIServerCert string // kube-apiserver serving certificate
	APIServerKey  string

	AdminCert string // client certificate in group system:masters
	AdminKey  string

	FrontProxyCAFile     string // CA of the aggregator's client certificate
	FrontProxyClientCert string // CN=front-proxy-client, used by kube-apiserver to reach aggregated servers
	FrontProxyClientKey  string

	ServiceAccountKey    string // RSA private key signing service-account tokens
	ServiceAccountPubKey string

	KwokCert string // kwok's serving certificate (the "kubelet"), signed by the cluster CA
	KwokKey  string

	ControllerManagerCert string // kube-controller-manager serving certificate
	ControllerManagerKey  string
}

// certValidity is long enough for any test run or demo session.
const certValidity = 7 * 24 * time.Hour

type keyPair struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// NewPKI writes a fresh set of certificates for a loopback cluster into dir.
func NewPKI(dir string) (*PKI, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create pki dir: %w", err)
	}
	p := &PKI{}
	path := func(name string) string { return filepath.Join(dir, name) }

	ca, err := newCA("podometer-e2e-ca")
	if err != nil {
		return nil, err
	}
	p.CAFile, p.CAKey = path("ca.crt"), path("ca.key")
	if err := writePair(ca, p.CAFile, p.CAKey); err != nil {
		return nil, err
	}

	loopback := subjectAltNames{
		dns: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		ips: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	leaves := []struct {
		certFile, keyFile *string
		name              string
		subject           pkix.Name
		usage             x509.ExtKeyUsage
		sans              subjectAltNames
		signer            *keyPair
	}{
		{&p.APIServerCert, &p.APIServerKey, "apiserver", pkix.Name{CommonName: "kube-apiserver"}, x509.ExtKeyUsageServerAuth, loopback, ca},
		{&p.AdminCert, &p.AdminKey, "admin", pkix.Name{CommonName: "e2e-admin", Organization: []string{"system:masters"}}, x509.ExtKeyUsageClientAuth, subjectAltNames{}, ca},
		{&p.KwokCert, &p.KwokKey, "kwok", pkix.Name{CommonName: "kwok"}, x509.ExtKeyUsageServerAuth, loopback, ca},
		{&p.ControllerManagerCert, &p.ControllerManagerKey, "kube-controller-manager", pkix.Name{CommonName: "kube-controller-manager"}, x509.ExtKeyUsageServerAuth, loopback, ca},
	}
	for _, l := range leaves {
		kp, err := newLeaf(l.signer, l.subject, l.usage, l.sans)
		if err != nil {
			return nil, fmt.Errorf("certificate %s: %w", l.name, err)
		}
		*l.certFile, *l.keyFile = path(l.name+".crt"), path(l.name+".key")
		if err := writePair(kp, *l.certFile, *l.keyFile); err != nil {
			return nil, err
		}
	}

	frontProxyCA, err := newCA("podometer-e2e-front-proxy-ca")
	if err != nil {
		return nil, err
	}
	p.FrontProxyCAFile = path("front-proxy-ca.crt")
	if err := writePair(frontProxyCA, p.FrontProxyCAFile, path("front-proxy-ca.key")); err != nil {
		return nil, err
	}
	fpClient, err := newLeaf(frontProxyCA, pkix.Name{CommonName: "front-proxy-client"}, x509.ExtKeyUsageClientAuth, subjectAltNames{})
	if err != nil {
		return nil, fmt.Errorf("certificate front-proxy-client: %w", err)
	}
	p.FrontProxyClientCert, p.FrontProxyClientKey = path("front-proxy-client.crt"), path("front-proxy-client.key")
	if err := writePair(fpClient, p.FrontProxyClientCert, p.FrontProxyClientKey); err != nil {
		return nil, err
	}

	p.ServiceAccountKey, p.ServiceAccountPubKey = path("sa.key"), path("sa.pub")
	if err := writeServiceAccountKeys(p.ServiceAccountKey, p.ServiceAccountPubKey); err != nil {
		return nil, err
	}
	return p, nil
}

type subjectAltNames struct {
	dns []string
	ips []net.IP
}

func newCA(name string) (*keyPair, error) {
	ca, err := issue(&x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("CA %s: %w", name, err)
	}
	return ca, nil
}

func newLeaf(ca *keyPair, subject pkix.Name, usage x509.ExtKeyUsage, sans subjectAltNames) (*keyPair, error) {
	return issue(&x509.Certificate{
		Subject:     subject,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{usage},
		DNSNames:    sans.dns,
		IPAddresses: sans.ips,
	}, ca)
}

// issue makes a new key and a certificate for it from tmpl, with a random
// serial number, valid from an hour ago for certValidity, signed by
// signer or, when signer is nil, by the new key itself.
func issue(tmpl *x509.Certificate, signer *keyPair) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	if tmpl.SerialNumber, err = randomSerial(); err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(certValidity)
	parent, parentKey := tmpl, crypto.Signer(key)
	if signer != nil {
		parent, parentKey = signer.cert, signer.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return nil, fmt.Errorf("sign certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	return &keyPair{cert: cert, key: key}, nil
}

func randomSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	return serial, nil
}

func writePair(kp *keyPair, certFile, keyFile string) error {
	if err := writePEM(certFile, "CERTIFICATE", kp.cert.Raw, 0o644); err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(kp.key)
	if err != nil {
		return fmt.Errorf("encode key %s: %w", keyFile, err)
	}
	return writePEM(keyFile, "PRIVATE KEY", der, 0o600)
}

func writeServiceAccountKeys(keyFile, pubFile string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate service-account key: %w", err)
	}
	if err := writePEM(keyFile, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key), 0o600); err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return fmt.Errorf("encode service-account public key: %w", err)
	}
	return writePEM(pubFile, "PUBLIC KEY", pub, 0o644)
}

func writePEM(path, blockType string, der []byte, mode os.FileMode) error {
	data := pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der})
	if err := os.WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
