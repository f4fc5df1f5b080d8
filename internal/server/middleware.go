package server

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// responseWriter records the status and size of a response and carries the
// request id, without a context allocation on the hot path.
type responseWriter struct {
	http.ResponseWriter
	id          string
	status      int
	bytes       int64
	wroteHeader bool
	// routed is the request once it is handed to the mux; its Pattern is
	// empty when no route matched.
	routed *http.Request
	// discard drops the mux's plain-text body after its answer was replaced.
	discard bool
	// userID and apiTokenID name who the request authenticated as, for the
	// access log: the account, and the API token it came through (empty for
	// a login token).
	userID, apiTokenID string
}

// Bodies that replace the mux's own plain-text 404 and 405: every answer is JSON.
var (
	notFoundBody  = []byte(`{"message":"Not found"}` + "\n")
	badMethodBody = []byte(`{"message":"Method not allowed"}` + "\n")
)

var writerPool = sync.Pool{New: func() any { return new(responseWriter) }}

func newResponseWriter(w http.ResponseWriter, r *http.Request) *responseWriter {
	rw := writerPool.Get().(*responseWriter)
	id := incomingRequestID(r.Header)
	if id == "" {
		id = nextRequestID()
	}
	*rw = responseWriter{ResponseWriter: w, id: id, status: http.StatusOK}
	w.Header()["X-Request-Id"] = []string{rw.id}
	return rw
}

// maxRequestIDLen bounds the X-Request-Id a request may bring.
const maxRequestIDLen = 64

// incomingRequestID is the request's own X-Request-Id, which a proxy in
// front (or the client) chose, so that one id follows the request through
// every log: kept when it is a single value of 1 to 64 letters, digits,
// '.', '_' and '-', and "" otherwise (the server then makes one). The
// narrow alphabet is what makes it safe to write into log lines, response
// headers and bodies as it is: no spaces, quotes, control characters or
// line breaks to forge a log line or a header with.
func incomingRequestID(h http.Header) string {
	v := h["X-Request-Id"]
	if len(v) != 1 || len(v[0]) == 0 || len(v[0]) > maxRequestIDLen {
		return ""
	}
	for i := 0; i < len(v[0]); i++ {
		if c := v[0][i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return ""
		}
	}
	return v[0]
}

func (rw *responseWriter) release() {
	*rw = responseWriter{}
	writerPool.Put(rw)
}

func (rw *responseWriter) WriteHeader(status int) {
	if rw.wroteHeader {
		return
	}
	rw.status, rw.wroteHeader = status, true
	if rw.routed != nil && rw.routed.Pattern == "" && (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) {
		// No route matched: this is the mux's http.Error. Answer in JSON instead.
		h := rw.Header()
		h["Content-Type"] = contentTypeJSON
		body := notFoundBody
		if status == http.StatusMethodNotAllowed {
			body = badMethodBody
		}
		rw.ResponseWriter.WriteHeader(status)
		n, _ := rw.ResponseWriter.Write(body)
		rw.bytes, rw.discard = int64(n), true
		return
	}
	rw.ResponseWriter.WriteHeader(status)
}

func (rw *responseWriter) Write(b []byte) (int, error) {
	if rw.discard {
		return len(b), nil
	}
	rw.wroteHeader = true
	n, err := rw.ResponseWriter.Write(b)
	rw.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (rw *responseWriter) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// requestID returns the id of the request being answered through w.
func requestID(w http.ResponseWriter) string {
	if rw, ok := w.(*responseWriter); ok {
		return rw.id
	}
	return w.Header().Get("X-Request-Id")
}

// Request ids the server makes: a random process prefix and a counter,
// unique and cheap.
var (
	idPrefix  = newIDPrefix()
	idCounter atomic.Uint64
)

func newIDPrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

func nextRequestID() string {
	var buf [16]byte
	n := idCounter.Add(1)
	const digits = "0123456789abcdef"
	for i := len(buf) - 1; i >= 0; i-- {
		buf[i] = digits[n&15]
		n >>= 4
	}
	return idPrefix + string(buf[6:])
}

// securityHeaders are the headers helmet sets by default. The values are
// shared slices: assigning them costs no allocation per request.
var securityHeaders = map[string][]string{
	"Content-Security-Policy":           {"default-src 'self'; base-uri 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'self'; img-src 'self' data:; object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self'; upgrade-insecure-requests"},
	"Cross-Origin-Opener-Policy":        {"same-origin"},
	"Cross-Origin-Resource-Policy":      {"same-origin"},
	"Origin-Agent-Cluster":              {"?1"},
	"Referrer-Policy":                   {"no-referrer"},
	"Strict-Transport-Security":         {"max-age=31536000; includeSubDomains"},
	"X-Content-Type-Options":            {"nosniff"},
	"X-Dns-Prefetch-Control":            {"off"},
	"X-Download-Options":                {"noopen"},
	"X-Frame-Options":                   {"SAMEORIGIN"},
	"X-Permitted-Cross-Domain-Policies": {"none"},
	"X-Xss-Protection":                  {"0"},
}

// dashboardCSP is helmet's policy without upgrade-insecure-requests. Every
// request the dashboard makes is to its own origin, so over HTTPS the
// directive changes nothing; over plain HTTP on anything but loopback (a
// server on a LAN address) it makes the browser fetch the page's own scripts
// over HTTPS, which fails, and the page stays blank.
var dashboardCSP = []string{strings.Replace(securityHeaders["Content-Security-Policy"][0], "; upgrade-insecure-requests", "", 1)}

// dashboardHeaders sets the dashboard's Content-Security-Policy.
func dashboardHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Security-Policy"] = dashboardCSP
		h.ServeHTTP(w, r)
	})
}

// securityHeaderList is securityHeaders as a list, which every answer sets:
// walking a slice costs a fraction of walking a map, on every request.
var securityHeaderList = func() []headerField {
	out := make([]headerField, 0, len(securityHeaders))
	for k, v := range securityHeaders {
		out = append(out, headerField{k, v})
	}
	return out
}()

// headerField is a header's canonical name and its shared values.
type headerField struct {
	name   string
	values []string
}

func setSecurityHeaders(h http.Header) {
	for _, f := range securityHeaderList {
		h[f.name] = f.values
	}
}

// isPublicPath reports a path of the public license API, which any origin may call.
func isPublicPath(p string) bool {
	return p == "/validate" || strings.HasPrefix(p, "/validate/") || p == "/license/" || p == "/license/activate"
}

// handleCORS sets CORS headers and answers preflight requests; it returns
// true when the request has been answered.
func (s *Server) handleCORS(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	h := w.Header()
	switch {
	case isPublicPath(r.URL.Path):
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	case s.cors["*"]:
		h.Set("Access-Control-Allow-Origin", "*")
	case s.cors[origin]:
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
	default:
		return false
	}
	h.Set("Access-Control-Expose-Headers", "X-Request-Id, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, KeyBox-Signature")
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}
