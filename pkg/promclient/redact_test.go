package promclient

import (
	"bytes"
	"flag"
	"strings"
	"testing"

	"k8s.io/klog/v2"

	"github.com/podometer/podometer/pkg/promclient/promclienttest"
)

// TestSecretsNotLoggedAtHighVerbosity makes queries at -v=10, where
// client-go's round tripper logs every request as a curl command, and
// looks for the secrets in what was logged.
func TestSecretsNotLoggedAtHighVerbosity(t *testing.T) {
	var logged bytes.Buffer
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	for name, value := range map[string]string{"v": "10", "logtostderr": "false", "alsologtostderr": "false"} {
		if err := fs.Set(name, value); err != nil {
			t.Fatal(err)
		}
	}
	klog.SetOutput(&logged)
	t.Cleanup(func() {
		klog.Flush()
		_ = fs.Set("v", "0")
		_ = fs.Set("logtostderr", "true")
		klog.SetOutput(nil)
	})

	prom := promclienttest.New(t)
	const token, key, password = "tok-5e6f7a8b", "key-1a2b3c4d", "pw-9c8d7e6f"
	headers, err := ParseHeaders([]string{"X-Api-Key=" + key})
	if err != nil {
		t.Fatal(err)
	}
	query(t, Config{URL: prom.URL, TokenFile: writeFile(t, "token", token), Headers: headers}, "up")
	query(t, Config{URL: prom.URL, Username: "u", PasswordFile: writeFile(t, "pw", password), Headers: headers}, "up")
	klog.Flush()

	out := logged.String()
	if !strings.Contains(out, "curl -v -X") {
		t.Fatalf("nothing was logged at -v=10; the test proves nothing:\n%s", out)
	}
	for _, secret := range []string{token, key, password} {
		if strings.Contains(out, secret) {
			t.Errorf("%q was logged:\n%s", secret, out)
		}
	}
}
