package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// rawNode fetches one node's body with no HTTP library: a keep-alive TLS
// connection of its own (as a real node, which is its own host, has), a
// request built once, and an answer read up to its Content-Length. Only
// the node's loop uses it, one fetch at a time.
type rawNode struct {
	addr    string
	config  *tls.Config
	request []byte
	timeout time.Duration
	conn    *tls.Conn
}

// readers are the buffered readers of the fetches in flight. No byte is
// left in one after an answer (one request at a time, read to its
// Content-Length), so a reader moves from one connection to another.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 32<<10) }}

func newRawNode(rawURL, accept string, config *tls.Config, timeout time.Duration) (*rawNode, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("%s: the raw client speaks HTTPS only", rawURL)
	}
	host, _, err := net.SplitHostPort(u.Host)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rawURL, err)
	}
	config = config.Clone()
	config.ServerName = host
	config.NextProtos = []string{"http/1.1"}
	request := fmt.Appendf(nil, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: floor\r\nAccept: %s\r\n\r\n", u.RequestURI(), u.Host, accept)
	return &rawNode{addr: u.Host, config: config, request: request, timeout: timeout}, nil
}

// fetch reads one answer; on any error it logs, drops the connection and
// dials again at the next fetch.
func (r *rawNode) fetch(ctx context.Context) {
	if _, err := r.roundTrip(ctx); err != nil {
		if ctx.Err() == nil {
			log.Printf("%s: %v", r.addr, err)
		}
		if r.conn != nil {
			_ = r.conn.Close()
			r.conn = nil
		}
	}
}

// roundTrip writes the request and reads the answer; it returns the
// body's length.
func (r *rawNode) roundTrip(ctx context.Context) (int64, error) {
	if r.conn == nil {
		d := &tls.Dialer{Config: r.config}
		dctx, cancel := context.WithTimeout(ctx, r.timeout)
		c, err := d.DialContext(dctx, "tcp", r.addr)
		cancel()
		if err != nil {
			return 0, err
		}
		r.conn = c.(*tls.Conn)
	}
	if err := r.conn.SetDeadline(time.Now().Add(r.timeout)); err != nil {
		return 0, err
	}
	if _, err := r.conn.Write(r.request); err != nil {
		return 0, err
	}
	br := readers.Get().(*bufio.Reader)
	br.Reset(r.conn)
	defer func() {
		br.Reset(nil)
		readers.Put(br)
	}()
	length, err := readHead(br)
	if err != nil {
		return 0, err
	}
	buf := buffers.Get().(*bytes.Buffer)
	defer buffers.Put(buf)
	buf.Reset()
	buf.Grow(length)
	return io.CopyN(buf, br, int64(length))
}

// readHead reads a 200 answer's status line and headers and returns its
// Content-Length; the farm always sends one.
func readHead(br *bufio.Reader) (int, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
		return 0, fmt.Errorf("answer %q", bytes.TrimSpace(line))
	}
	length := -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, fmt.Errorf("header line %q", line)
		}
		if bytes.EqualFold(name, []byte("Content-Length")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(value))); err != nil || length < 0 {
				return 0, fmt.Errorf("Content-Length %q", value)
			}
		}
	}
	if length < 0 {
		return 0, errors.New("answer without Content-Length")
	}
	return length, nil
}
