package webhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestSignatureMatchesTheReferenceLibrary signs with our code and verifies
// with the Standard Webhooks reference implementation, and the reverse.
func TestSignatureMatchesTheReferenceLibrary(t *testing.T) {
	secret, err := NewSecret(bytes.NewReader(bytes.Repeat([]byte{7}, SecretSize)))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := standardwebhooks.NewWebhook(EncodeSecret(secret))
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"_id":"6968baa06ae6783f4fe91b77","type":"license.revoked"}`)
	at := time.Now().Truncate(time.Second)
	h := http.Header{}
	h.Set(HeaderID, "msg_1")
	h.Set(HeaderTimestamp, itoa(at.Unix()))
	h.Set(HeaderSignature, Signature(secret, "msg_1", at, body))
	if err := ref.Verify(body, h); err != nil {
		t.Fatalf("the reference library refuses our signature: %v", err)
	}
	want, err := ref.Sign("msg_1", at, body)
	if err != nil {
		t.Fatal(err)
	}
	if got := Signature(secret, "msg_1", at, body); got != want {
		t.Fatalf("got %s, reference signs %s", got, want)
	}
	// A byte changed anywhere is refused.
	for name, mutate := range map[string]func(){
		"body":      func() { body = append(body, ' ') },
		"id":        func() { h.Set(HeaderID, "msg_2") },
		"timestamp": func() { h.Set(HeaderTimestamp, itoa(at.Unix()+1)) },
	} {
		saved, savedH := append([]byte(nil), body...), h.Clone()
		mutate()
		if err := ref.Verify(body, h); err == nil {
			t.Errorf("changed %s: the signature still verifies", name)
		}
		body, h = saved, savedH
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestForbidden(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1", true}, {"127.255.0.9", true}, {"::1", true},
		{"10.1.2.3", true}, {"172.16.0.1", true}, {"172.31.255.255", true}, {"192.168.1.1", true},
		{"169.254.169.254", true}, {"fe80::1", true},
		{"0.0.0.0", true}, {"::", true}, {"224.0.0.1", true}, {"ff02::1", true},
		{"fc00::1", true}, {"fd12:3456::1", true},
		{"100.64.0.1", true}, {"::ffff:127.0.0.1", true}, {"::ffff:10.0.0.1", true}, {"64:ff9b::a00:1", true},
		{"255.255.255.255", true},
		{"93.184.216.34", false}, {"8.8.8.8", false}, {"2606:4700::1111", false}, {"172.32.0.1", false},
	} {
		if got := Forbidden(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.addr, got, tc.want)
		}
	}
}

// fakeResolver answers every name with the given addresses, through a DNS
// server on loopback run by the test.
func fakeResolver(t *testing.T, answers map[string][]netip.Addr) *net.Resolver {
	t.Helper()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		server, client := net.Pipe()
		go serveDNS(server, answers)
		return client, nil
	}}
}

func TestCheckURL(t *testing.T) {
	ctx := context.Background()
	r := fakeResolver(t, map[string][]netip.Addr{
		"public.example.":   {netip.MustParseAddr("93.184.216.34")},
		"internal.example.": {netip.MustParseAddr("10.0.0.5")},
		"mixed.example.":    {netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("127.0.0.1")},
		"metadata.example.": {netip.MustParseAddr("169.254.169.254")},
	})
	strict := Policy{Resolver: r}
	for _, tc := range []struct {
		url, refusal string // refusal "" means accepted
	}{
		{"https://public.example/hooks", ""},
		{"http://93.184.216.34:8080/x", ""},
		{"https://internal.example/", "loopback, private or link-local"},
		{"https://mixed.example/", "loopback, private or link-local"},
		{"https://metadata.example/latest/meta-data", "loopback, private or link-local"},
		{"http://127.0.0.1:5000/", "loopback, private or link-local"},
		{"http://[::1]/", "loopback, private or link-local"},
		{"http://169.254.169.254/", "loopback, private or link-local"},
		{"http://[fd00::1]/", "loopback, private or link-local"},
		{"http://0.0.0.0/", "loopback, private or link-local"},
		{"http://[::ffff:7f00:1]/", "loopback, private or link-local"},
		{"https://nowhere.example/", "does not resolve"},
		{"ftp://public.example/", "http or https"},
		{"file:///etc/passwd", "http or https"},
		{"/relative", "absolute"},
		{"https://user:pass@public.example/", "user name or password"},
		{"https://public.example/#frag", "fragment"},
	} {
		_, err := strict.CheckURL(ctx, tc.url)
		switch {
		case tc.refusal == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.url, err)
		case tc.refusal != "" && (err == nil || !strings.Contains(err.Error(), tc.refusal)):
			t.Errorf("%s: got %v, want a refusal saying %q", tc.url, err, tc.refusal)
		}
	}
	if _, err := (Policy{AllowPrivate: true}).CheckURL(ctx, "http://127.0.0.1:1/"); err != nil {
		t.Errorf("AllowPrivate: %v", err)
	}
	if _, err := (Policy{AllowPrivate: true}).CheckURL(ctx, "gopher://127.0.0.1:1/"); err == nil {
		t.Error("AllowPrivate still allows only http and https")
	}
}

// TestDialRefusesPrivateAddresses: a name that resolved to a public address
// when the webhook was made may resolve to a private one when it is called
// (DNS rebinding). The connection itself is refused.
func TestDialRefusesPrivateAddresses(t *testing.T) {
	hits := 0
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer receiver.Close()
	port := receiver.Listener.Addr().(*net.TCPAddr).Port
	rebound := fakeResolver(t, map[string][]netip.Addr{"rebound.example.": {netip.MustParseAddr("127.0.0.1")}})
	s := NewSender(Policy{Resolver: rebound})
	for _, u := range []string{
		"http://rebound.example:" + itoa(int64(port)) + "/",
		receiver.URL,
	} {
		r := s.Send(context.Background(), u, []byte("k"), "msg_1", time.Now(), []byte(`{}`))
		if r.Err == nil || !strings.Contains(r.Err.Error(), "not public") || r.OK() {
			t.Errorf("%s: got %+v, want a refused connection", u, r)
		}
	}
	if hits != 0 {
		t.Fatalf("the receiver on loopback was reached %d times", hits)
	}
	allowed := NewSender(Policy{AllowPrivate: true, Resolver: rebound})
	if r := allowed.Send(context.Background(), "http://rebound.example:"+itoa(int64(port))+"/", []byte("k"), "m", time.Now(), nil); !r.OK() {
		t.Fatalf("AllowPrivate: %+v", r)
	}
}

func TestSend(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	var got *http.Request
	var gotBody []byte
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		got = r
		gotBody, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("\x00\xff"))
		_, _ = w.Write(bytes.Repeat([]byte("x"), 5000))
	})
	receiver := httptest.NewServer(mux)
	defer receiver.Close()
	s := NewSender(Policy{AllowPrivate: true})
	at := time.Unix(1760000000, 0)
	body := []byte(`{"type":"license.created"}`)

	r := s.Send(context.Background(), receiver.URL+"/ok", secret, "msg_1", at, body)
	if !r.OK() || r.StatusCode != 204 || got == nil {
		t.Fatalf("ok: %+v", r)
	}
	if got.Header.Get(HeaderID) != "msg_1" || got.Header.Get(HeaderTimestamp) != "1760000000" ||
		got.Header.Get(HeaderSignature) != Signature(secret, "msg_1", at, gotBody) ||
		got.Header.Get("Content-Type") != "application/json" || string(gotBody) != string(body) {
		t.Fatalf("the request: %v %s", got.Header, gotBody)
	}

	got = nil
	r = s.Send(context.Background(), receiver.URL+"/redirect", secret, "msg_1", at, body)
	if r.OK() || r.StatusCode != http.StatusTemporaryRedirect || got != nil {
		t.Fatalf("a redirect was followed or counted as success: %+v", r)
	}

	r = s.Send(context.Background(), receiver.URL+"/big", secret, "msg_1", at, body)
	if r.OK() || r.StatusCode != 500 || len(r.Response) > ResponseLimit+8 || strings.ContainsRune(r.Response, 0) ||
		!strings.HasPrefix(r.Response, "\uFFFD\uFFFDxxx") {
		t.Fatalf("a failing answer: status %d, %d bytes kept: %q", r.StatusCode, len(r.Response), r.Response[:10])
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	r = s.Send(context.Background(), closed.URL, secret, "msg_1", at, body)
	if r.OK() || r.Err == nil || r.StatusCode != 0 {
		t.Fatalf("a refused connection: %+v", r)
	}
}

// TestSendTimesOut: an endpoint that never answers costs one attempt of at
// most Timeout, cut short here by the caller's context.
func TestSendTimesOut(t *testing.T) {
	release := make(chan struct{})
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer receiver.Close()
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Result)
	go func() {
		done <- NewSender(Policy{AllowPrivate: true}).Send(ctx, receiver.URL, []byte("k"), "m", time.Now(), nil)
	}()
	cancel()
	r := <-done
	if r.OK() || !errors.Is(r.Err, context.Canceled) {
		t.Fatalf("got %+v", r)
	}
}
