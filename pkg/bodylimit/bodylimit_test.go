package bodylimit

import (
	"errors"
	"io"
	"strings"
	"testing"
)

var errTooLarge = errors.New("too large")

func TestReader(t *testing.T) {
	for _, tc := range []struct {
		body     string
		limit    int64
		exceeded bool
	}{
		{"", 4, false},
		{"abc", 4, false},
		{"abcd", 4, false}, // exactly the limit is whole
		{"abcde", 4, true},
	} {
		r := NewReader(strings.NewReader(tc.body), tc.limit, errTooLarge)
		got, err := io.ReadAll(r)
		if tc.exceeded {
			if !errors.Is(err, errTooLarge) || !r.Exceeded() {
				t.Errorf("%q at %d: %v, exceeded %v; want the too-large error", tc.body, tc.limit, err, r.Exceeded())
			}
			continue
		}
		if err != nil || string(got) != tc.body || r.Exceeded() {
			t.Errorf("%q at %d: read %q, %v, exceeded %v", tc.body, tc.limit, got, err, r.Exceeded())
		}
	}
}
