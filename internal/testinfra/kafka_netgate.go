package testinfra

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
)

// netGate wraps kfake's listeners so that tests can partition one Kafka
// client from the cluster (KafkaCluster.Isolate). A connection is
// attributed to a client by the client.id in the header of its first
// request.
type netGate struct {
	mu       sync.Mutex
	isolated map[string]bool
	conns    map[*gatedConn]struct{}
}

func newNetGate() *netGate {
	return &netGate{isolated: map[string]bool{}, conns: map[*gatedConn]struct{}{}}
}

func (g *netGate) listen(network, address string) (net.Listener, error) {
	l, err := net.Listen(network, address)
	if err != nil {
		return nil, err
	}
	return &gatedListener{Listener: l, g: g}, nil
}

type gatedListener struct {
	net.Listener
	g *netGate
}

func (l *gatedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	gc := &gatedConn{Conn: c, g: l.g, release: make(chan struct{})}
	l.g.mu.Lock()
	l.g.conns[gc] = struct{}{}
	l.g.mu.Unlock()
	return gc, nil
}

// gatedConn is one accepted connection. While blocked, Read waits for the
// release (heal or cluster close) and Write discards the responses.
type gatedConn struct {
	net.Conn
	g *netGate

	mu       sync.Mutex
	hdr      []byte
	clientID string
	known    bool
	blocked  bool
	release  chan struct{}
	released bool
}

func (c *gatedConn) isBlocked() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.blocked
}

func (c *gatedConn) Read(p []byte) (int, error) {
	if c.isBlocked() {
		<-c.release
		return 0, io.EOF
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.learn(p[:n])
	}
	if c.isBlocked() {
		// Isolated while this Read waited: the request is lost.
		<-c.release
		return 0, io.EOF
	}
	return n, err
}

func (c *gatedConn) Write(p []byte) (int, error) {
	if c.isBlocked() {
		return len(p), nil // the response is lost on the way
	}
	return c.Conn.Write(p)
}

func (c *gatedConn) Close() error {
	c.unblock()
	c.g.mu.Lock()
	delete(c.g.conns, c)
	c.g.mu.Unlock()
	return c.Conn.Close()
}

// learn parses the client id from the first request's header:
// size int32, api key int16, api version int16, correlation id int32,
// client id (int16 length, -1 for null, then the bytes).
func (c *gatedConn) learn(b []byte) {
	c.mu.Lock()
	if c.known {
		c.mu.Unlock()
		return
	}
	c.hdr = append(c.hdr, b...)
	if len(c.hdr) < 14 {
		c.mu.Unlock()
		return
	}
	n := int(int16(binary.BigEndian.Uint16(c.hdr[12:14])))
	if n > 0 && len(c.hdr) < 14+n {
		c.mu.Unlock()
		return
	}
	if n > 0 {
		c.clientID = string(c.hdr[14 : 14+n])
	}
	c.known, c.hdr = true, nil
	id := c.clientID
	c.mu.Unlock()
	c.g.mu.Lock()
	block := c.g.isolated[id]
	c.g.mu.Unlock()
	if block {
		c.block()
	}
}

func (c *gatedConn) block() {
	c.mu.Lock()
	c.blocked = true
	c.mu.Unlock()
}

// unblock releases a blocked Read (once).
func (c *gatedConn) unblock() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.released {
		c.released = true
		close(c.release)
	}
}

func (g *netGate) isolate(clientID string) {
	g.mu.Lock()
	g.isolated[clientID] = true
	var hit []*gatedConn
	for c := range g.conns {
		c.mu.Lock()
		if c.known && c.clientID == clientID {
			hit = append(hit, c)
		}
		c.mu.Unlock()
	}
	g.mu.Unlock()
	for _, c := range hit {
		c.block()
	}
}

func (g *netGate) heal(clientID string) {
	g.mu.Lock()
	delete(g.isolated, clientID)
	var hit []*gatedConn
	for c := range g.conns {
		c.mu.Lock()
		if c.blocked && c.clientID == clientID {
			hit = append(hit, c)
		}
		c.mu.Unlock()
	}
	g.mu.Unlock()
	for _, c := range hit {
		_ = c.Close()
	}
}

// healAll releases every blocked connection (the cluster is closing).
func (g *netGate) healAll() {
	g.mu.Lock()
	g.isolated = map[string]bool{}
	var hit []*gatedConn
	for c := range g.conns {
		if c.isBlocked() {
			hit = append(hit, c)
		}
	}
	g.mu.Unlock()
	for _, c := range hit {
		_ = c.Close()
	}
}
