package options

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"
)

// TestDeployArgsAreFlags keeps deploy/ true to the code: every argument
// the rendered manifests give Podometer is a flag it has, with a value it
// accepts.
func TestDeployArgsAreFlags(t *testing.T) {
	goldens, err := filepath.Glob("../../../../deploy/testdata/*.golden.yaml")
	if err != nil || len(goldens) == 0 {
		t.Fatalf("no golden manifests found: %v", err)
	}
	for _, path := range goldens {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, doc := range bytes.Split(data, []byte("\n---\n")) {
			var d appsv1.Deployment
			if err := yaml.Unmarshal(doc, &d); err != nil || d.Kind != "Deployment" {
				continue
			}
			for _, c := range d.Spec.Template.Spec.Containers {
				found = true
				fs := pflag.NewFlagSet("podometer", pflag.ContinueOnError)
				for _, set := range New().Flags().FlagSets {
					fs.AddFlagSet(set)
				}
				if err := fs.Parse(c.Args); err != nil {
					t.Errorf("%s: container %s: %v", path, c.Name, err)
				}
			}
		}
		if !found {
			t.Errorf("%s has no Deployment", path)
		}
	}
}
