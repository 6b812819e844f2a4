package apijson

import (
	"encoding/json"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The writers append what encoding/json (the generic serializer's
// encoder) writes for the same values.
func TestAppendsWhatEncodingJSONWrites(t *testing.T) {
	for _, s := range []string{"", "pod-00001", "a.b/c_d-e", `quo"te`, `back\slash`, "<script>&", "tab\there", "\x00\x1f\x7f", "é ü 日本", "\u2028\u2029", "bad \xff utf-8"} {
		want, _ := json.Marshal(s)
		if got := String(nil, s); string(got) != string(want) {
			t.Errorf("String(%q) = %s, want %s", s, got, want)
		}
	}
	for _, tm := range []time.Time{
		time.Date(2026, 11, 25, 3, 0, 52, 999_999_999, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", -7*3600-30*60)),
	} {
		want, _ := json.Marshal(metav1.NewTime(tm))
		if got := Time(nil, tm); string(got) != string(want) {
			t.Errorf("Time(%s) = %s, want %s", tm, got, want)
		}
	}
	for _, q := range []resource.Quantity{
		*resource.NewMilliQuantity(1339, resource.DecimalSI), *resource.NewMilliQuantity(-3250, resource.DecimalSI),
		*resource.NewQuantity(3<<30, resource.BinarySI), *resource.NewScaledQuantity(123456789, resource.Nano),
		resource.MustParse("5e19"), {},
	} {
		want, _ := json.Marshal(&q)
		got := append([]byte{'"'}, Quantity([]byte{}, &q)...)
		if got = append(got, '"'); string(got) != string(want) {
			t.Errorf("Quantity(%s) = %s, want %s", q.String(), got, want)
		}
	}
	labels := map[string]string{"z": "", "app.kubernetes.io/name": "web", "a": `"x"`, "b<": "&"}
	want, _ := json.Marshal(labels)
	if got := Labels(nil, labels); string(got) != string(want) {
		t.Errorf("Labels = %s, want %s", got, want)
	}
}

func TestWanted(t *testing.T) {
	for accept, want := range map[string]bool{
		"":                               true,
		"application/json":               true,
		"application/json, */*":          true,
		"*/*":                            true,
		"application/*;q=0.9":            true,
		"application/json;charset=utf-8": true,
		"application/yaml":               false,
		"application/vnd.kubernetes.protobuf, application/json":            false,
		"application/json;as=Table;v=v1;g=meta.k8s.io":                     false,
		"application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1": false,
		"text/html": false,
		";;;":       false,
	} {
		if got := Wanted(accept); got != want {
			t.Errorf("Wanted(%q) = %v, want %v", accept, got, want)
		}
	}
}
