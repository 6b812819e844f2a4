// Package bodylimit reads a body up to a bound and fails beyond it, so
// that a body cut at the bound is never taken for a whole one: the
// kubelet scraper and the Prometheus client both read through it.
package bodylimit

import "io"

// Reader reads at most limit bytes of r; one byte more fails with the
// tooLarge error given to NewReader.
type Reader struct {
	r        io.Reader
	left     int64
	tooLarge error
	exceeded bool
}

// NewReader bounds r at limit bytes.
func NewReader(r io.Reader, limit int64, tooLarge error) *Reader {
	return &Reader{r: r, left: limit, tooLarge: tooLarge}
}

func (l *Reader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// Probe for one more byte to tell a body of exactly the limit
		// from a longer one.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			l.exceeded = true
			return 0, l.tooLarge
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// Exceeded tells whether the body went past the limit.
func (l *Reader) Exceeded() bool { return l.exceeded }
