package client_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/client"
	"github.com/keyboxhq/keybox/internal/server"
	"github.com/keyboxhq/keybox/internal/servertest"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// kbServer is a real KeyBox server over a real store, on loopback, that
// records the route pattern of every request, for coverage checks.
type kbServer struct {
	*servertest.Server
	mu   sync.Mutex
	seen map[string]bool
}

// startServer runs the real server on store.
func startServer(t testing.TB, store keybox.Store, opts ...servertest.Options) *kbServer {
	t.Helper()
	kb := &kbServer{seen: map[string]bool{}}
	var o servertest.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	o.Wrap = func(h http.Handler) http.Handler {
		// A mux with the server's own patterns names the route of each request.
		patterns := http.NewServeMux()
		for _, p := range h.(*server.Server).Routes() {
			patterns.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, p := patterns.Handler(r); p != "" {
				kb.mu.Lock()
				kb.seen[p] = true
				kb.mu.Unlock()
			}
			h.ServeHTTP(w, r)
		})
	}
	kb.Server = servertest.New(t, store, o)
	return kb
}

// eachEngine runs fn against a fresh server on each storage engine.
func eachEngine(t *testing.T, fn func(t *testing.T, kb *kbServer)) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) { fn(t, startServer(t, e.Open(t))) })
	}
}

func sqliteServer(t testing.TB, opts ...servertest.Options) *kbServer {
	return startServer(t, storetest.SQLite(t), opts...)
}

// developer signs up and logs in a management client.
func (kb *kbServer) developer(t testing.TB, email string) *client.Client {
	t.Helper()
	c, err := client.New(kb.URL, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Signup(ctx, client.Signup{Name: "Dev " + email, Email: email, Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctx, email, "correct horse"); err != nil {
		t.Fatal(err)
	}
	return c
}

// pendingLicense creates a client, a project and its PENDING license.
func pendingLicense(t testing.TB, c *client.Client, seats int) keybox.License {
	t.Helper()
	ctx := context.Background()
	cl, err := c.CreateClient(ctx, client.ClientInput{Name: "Acme", Email: "acme@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.CreateProject(ctx, cl.ID, "Website")
	if err != nil {
		t.Fatal(err)
	}
	l, err := c.CreateLicense(ctx, client.NewLicense{Duration: 3, ClientID: cl.ID, ProjectID: p.ID, MaxMachines: seats})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// proxy is a TCP proxy whose network the test can cut and restore.
type proxy struct {
	t      testing.TB
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func newProxy(t testing.TB, targetURL string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := targetURL[len("http://"):]
	p := &proxy{t: t, ln: ln, target: u, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			_ = in.Close()
			continue
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			_ = in.Close()
			continue
		}
		p.conns[in], p.conns[out] = true, true
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(in, out)
		go p.pipe(out, in)
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
}

// cut closes every connection and refuses new ones until restore.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

func (p *proxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}
