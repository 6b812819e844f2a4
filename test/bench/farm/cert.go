package farm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Issuer is a certificate authority: its certificate and the key that
// signs with it.
type Issuer struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// PEM is the issuer's certificate in PEM, what a client adds to its roots.
func (i *Issuer) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: i.Cert.Raw})
}

// newIssuer makes a fresh CA named cn.
func newIssuer(cn string) (*Issuer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("farm: generate key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("farm: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("farm: parse CA certificate: %w", err)
	}
	return &Issuer{Cert: cert, Key: key}, nil
}

func newSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("farm: serial: %w", err)
	}
	return serial, nil
}

// servingCert is what a serving certificate says: for which addresses and
// names, and when it is valid.
type servingCert struct {
	ips                 []net.IP
	dnsNames            []string
	notBefore, notAfter time.Time
}

// loopbackCert is valid for 127.0.0.1 and localhost from an hour ago for
// a week.
func loopbackCert() servingCert {
	now := time.Now()
	return servingCert{
		ips:       []net.IP{net.IPv4(127, 0, 0, 1)},
		dnsNames:  []string{"localhost"},
		notBefore: now.Add(-time.Hour),
		notAfter:  now.Add(7 * 24 * time.Hour),
	}
}

// issue returns a serving certificate that iss signs.
func (iss *Issuer) issue(sc servingCert) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("farm: generate key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "podometer-bench-kubelet-farm"},
		NotBefore:    sc.notBefore,
		NotAfter:     sc.notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     sc.dnsNames,
		IPAddresses:  sc.ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, iss.Cert, key.Public(), iss.Key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("farm: create certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der, iss.Cert.Raw}, PrivateKey: key}, nil
}
