package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Timeout bounds one attempt, from dialling to the end of the answer's
// first bytes.
const Timeout = 10 * time.Second

// ResponseLimit is how much of an answer's body an attempt keeps.
const ResponseLimit = 1024

// Result is the outcome of one attempt.
type Result struct {
	At         time.Time     // when it began (the signature's timestamp)
	StatusCode int           // 0 when no answer came
	Duration   time.Duration // how long it took
	Response   string        // the first ResponseLimit bytes of the answer, as valid UTF-8 without NUL
	Err        error         // why no answer came, or nil
}

// OK reports an answer in the 2xx range: the endpoint has the message.
func (r Result) OK() bool { return r.Err == nil && r.StatusCode >= 200 && r.StatusCode < 300 }

// Sender makes attempts.
type Sender struct {
	client *http.Client
}

// NewSender returns a Sender whose connections obey the policy. It ignores
// proxy settings (a proxy would make the connection for it, past the guard)
// and follows no redirect (an answer of 3xx is an answer, and a failure).
func NewSender(p Policy) *Sender {
	dialer := &net.Dialer{Timeout: Timeout, Control: p.control, Resolver: p.Resolver}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   Timeout,
		ResponseHeaderTimeout: Timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &Sender{client: &http.Client{
		Transport:     transport,
		Timeout:       Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Send posts one signed message: body, under the message id, signed with
// secret at the instant at.
func (s *Sender) Send(ctx context.Context, endpoint string, secret []byte, id string, at time.Time, body []byte) Result {
	start := time.Now()
	res := Result{At: at}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		res.Err = err
		return res
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "KeyBox-Webhooks/1")
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(HeaderSignature, Signature(secret, id, at, body))
	resp, err := s.client.Do(req)
	if err != nil {
		res.Duration, res.Err = time.Since(start), cleanError(err)
		return res
	}
	defer resp.Body.Close()
	res.StatusCode = resp.StatusCode
	// The status decides; what becomes of the rest of the answer does not.
	first, _ := io.ReadAll(io.LimitReader(resp.Body, ResponseLimit))
	res.Response = printable(first)
	// Drain a little more so the connection can be reused, no more.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	res.Duration = time.Since(start)
	return res
}

// cleanError drops the URL that net/http puts in its errors (the owner sees
// it already) and keeps the cause.
func cleanError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout") {
		return fmt.Errorf("no answer within %s", Timeout)
	}
	return err
}

// printable makes an answer's first bytes storable everywhere: valid UTF-8
// without NUL (PostgreSQL refuses both in text).
func printable(b []byte) string {
	s := string(b)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}
