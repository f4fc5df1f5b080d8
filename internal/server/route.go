package server

import (
	"net/http"
	"reflect"
	"strings"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
)

// route is one endpoint of the API, declared once in routes.go. The mux
// registration, the authentication, the way errors are answered, the route
// label of metrics, the OpenAPI document and the tests that walk every route
// all read it from here.
type route struct {
	// pattern is the mux pattern ("GET /clients/{id}"); it is also the
	// route's label in /metrics and in the access log.
	pattern string
	// id is the OpenAPI operationId: stable and readable ("createClient").
	id      string
	tag     string
	access  Access
	summary string
	// about is a longer description, when the summary is not enough.
	about   string
	handler endpoint
	// status is the status of a successful answer (200 when 0).
	status int
	// required are the members the request body must have.
	required []string
	// query are the query-string parameters the handler reads.
	query []param
	// errors are the answers the route gives besides success, the ones every
	// route of its kind gives (a malformed body, a missing token, a 500) aside.
	errors []failure
	// envelope is what every error answer of the route carries besides its
	// message: the public license API's {"success": false} or {"valid": false}.
	envelope envelope
	// signed routes sign their answers (KeyBox-Signature) for a nonce.
	signed bool
	// page marks the dashboard's pages: routed, but not part of the API.
	page bool
	// stateless routes never answer the 503 of a busy database: they use
	// none, or, as /readyz, answer a 503 of their own.
	stateless bool
	// records marks a public route whose changes are recorded as events:
	// they carry the request's address and id (routes with a caller always
	// do, with the caller as the actor). /validate records nothing and pays
	// nothing for it.
	records bool
}

// Access says who may call a route. API tokens, scoped to read or to write,
// reach the routes marked AccessRead or AccessWrite (see permits); a login
// token reaches every route; the public ones need no credential at all.
type Access int

const (
	// AccessPublic routes take no credential: the operations endpoints, and
	// the public license API, where the license key is the credential.
	AccessPublic Access = iota
	// AccessAccount routes take a login token only: account, user and token
	// administration, which no API token may ever do.
	AccessAccount
	// AccessRead routes only read; an API token of either scope may call them.
	AccessRead
	// AccessWrite routes change something; an API token needs the write scope.
	AccessWrite
)

// permits reports whether an API token of scope may call a route of access
// a: a read token the reads, a write token the reads and the writes, and no
// API token ever the account administration (a login token is needed).
func (a Access) permits(scope keybox.Scope) bool {
	switch a {
	case AccessRead:
		return scope.Permits(false)
	case AccessWrite:
		return scope.Permits(true)
	}
	return false
}

func (a Access) String() string {
	return [...]string{"public", "account", "read", "write"}[a]
}

// Route describes one registered route, for tests and tools.
type Route struct {
	// Pattern is the mux pattern, e.g. "GET /clients/{id}".
	Pattern string
	// OperationID names the operation in the OpenAPI document ("" for the
	// dashboard's pages, which are not part of the API).
	OperationID string
	Access      Access
	// Body reports that the route reads a JSON request body.
	Body bool
}

// handlerFunc is a handler that writes its own answer, or returns the error
// that the route's adapter answers as the contract words it. u is the
// caller, zero on public routes.
type handlerFunc func(w http.ResponseWriter, r *http.Request, u keybox.User) error

// endpoint is a route's handler with the Go types of its request body and
// of its answer, which the OpenAPI document describes.
type endpoint struct {
	in, out reflect.Type // in is nil when the route reads no body
	serve   func(w http.ResponseWriter, r *http.Request, u keybox.User, status int) error
}

// none is the request type of a route that reads no body.
type none struct{}

// reply declares a handler that takes its decoded request body (In; none
// for no body) and returns its answer (Out), which is sent with the route's
// status. Most routes are these: decode, one call to the licensing service,
// encode. (The answers of the routes older than the table list their
// members alphabetically: the order of the maps they replaced, which clients
// and golden files have seen byte for byte.)
func reply[In, Out any](h func(r *http.Request, u keybox.User, in In) (Out, error)) endpoint {
	inType := bodyType[In]()
	hasBody := inType != nil
	return endpoint{
		in:  inType,
		out: reflect.TypeFor[Out](),
		serve: func(w http.ResponseWriter, r *http.Request, u keybox.User, status int) error {
			var in In
			if hasBody {
				if err := decode(r, &in); err != nil {
					return err
				}
			}
			out, err := h(r, u, in)
			if err != nil {
				return err
			}
			writeJSON(w, status, out)
			return nil
		},
	}
}

// writes declares a handler that reads its request and writes its answer
// itself: a streamed, hand-encoded or signed answer, or one with headers of
// its own. In and Out are the shapes of the body it reads and of the answer
// it writes.
func writes[In, Out any](h handlerFunc) endpoint {
	return endpoint{
		in:  bodyType[In](),
		out: reflect.TypeFor[Out](),
		serve: func(w http.ResponseWriter, r *http.Request, u keybox.User, _ int) error {
			return h(w, r, u)
		},
	}
}

// serves declares a plain http.Handler: the dashboard's pages.
func serves(h http.Handler) endpoint {
	return endpoint{serve: func(w http.ResponseWriter, r *http.Request, _ keybox.User, _ int) error {
		h.ServeHTTP(w, r)
		return nil
	}}
}

func bodyType[In any]() reflect.Type {
	if t := reflect.TypeFor[In](); t != reflect.TypeFor[none]() {
		return t
	}
	return nil
}

// register puts every route of the table on the mux.
func (s *Server) register(table []route) {
	s.table = table
	for i := range table {
		s.mux.Handle(table[i].pattern, s.adapt(&table[i]))
	}
}

// adapt is the one adapter between a route and net/http: it refuses a path
// or query string that is not text, authenticates the caller when the route
// needs one, runs the handler, and answers the error it returns. It
// allocates nothing of its own, so the public license API's hot path costs
// what its handler costs.
func (s *Server) adapt(rt *route) http.Handler {
	status := rt.status
	if status == 0 {
		status = http.StatusOK
	}
	serve, env := rt.handler.serve, rt.envelope
	checkQuery := rt.tag != tagLicenseAPI
	if rt.access == AccessPublic {
		records := rt.records
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			err := refuseNonText(r, checkQuery)
			if err == nil {
				if records {
					r = s.withOrigin(w, r, keybox.Actor{})
				}
				err = serve(w, r, keybox.User{}, status)
			}
			if err != nil {
				s.answerError(w, r, env, err)
			}
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c caller
		err := refuseNonText(r, checkQuery)
		if err == nil {
			c, err = s.authenticate(w, r, rt.access)
		}
		if err == nil {
			err = serve(w, s.withOrigin(w, r, c.actor()), c.user, status)
		}
		if err != nil {
			s.answerError(w, r, env, err)
		}
	})
}

// refuseNonText is the 400 of a path or query string that is not text
// (see nonText), or nil.
func refuseNonText(r *http.Request, checkQuery bool) error {
	if name := nonText(r, checkQuery); name != "" {
		return validationError(name, licensing.ReasonNotText)
	}
	return nil
}

// Routes returns every registered pattern, e.g. "GET /clients/{id}", so that
// tests can check that each one is covered.
func (s *Server) Routes() []string {
	out := make([]string, len(s.table))
	for i, rt := range s.table {
		out[i] = rt.pattern
	}
	return out
}

// RouteTable describes every registered route: the list that the isolation,
// bad-input and access tests walk.
func (s *Server) RouteTable() []Route {
	out := make([]Route, len(s.table))
	for i, rt := range s.table {
		out[i] = Route{Pattern: rt.pattern, OperationID: rt.id, Access: rt.access, Body: rt.handler.in != nil}
		if rt.page {
			out[i].OperationID = ""
		}
	}
	return out
}

// methodPath splits a pattern into its method and its OpenAPI path ("{$}",
// which anchors a pattern that ends in a slash, is not part of the path).
func (rt *route) methodPath() (method, path string) {
	method, path, _ = strings.Cut(rt.pattern, " ")
	return method, strings.TrimSuffix(path, "{$}")
}

// failure is an error answer a route gives: its status, the component
// schema its body has, and the messages it may carry.
type failure struct {
	status   int
	shape    string
	messages []string
}

// The shapes of error bodies, as components of the OpenAPI document.
const (
	shapeError      = "Error"           // {"message"}
	shapeValidation = "ValidationError" // {"message": "Validation error", "errors", "details"}
	shapeConflict   = "ConflictError"   // {"message", "field"}: the member that conflicts
	shapeLimited    = "RateLimited"     // the exact 429 body of a rate limit
)

func badRequest(messages ...string) failure {
	return failure{http.StatusBadRequest, shapeError, messages}
}
func unauthorized(messages ...string) failure {
	return failure{http.StatusUnauthorized, shapeError, messages}
}
func forbidden(messages ...string) failure {
	return failure{http.StatusForbidden, shapeError, messages}
}
func notFound(messages ...string) failure { return failure{http.StatusNotFound, shapeError, messages} }
func conflict(messages ...string) failure { return failure{http.StatusConflict, shapeError, messages} }

// conflictOn is a 409 whose body names the member that conflicts.
func conflictOn(messages ...string) failure {
	return failure{http.StatusConflict, shapeConflict, messages}
}

var (
	// invalidFields is the 400 that names each member in error and why.
	invalidFields = failure{http.StatusBadRequest, shapeValidation, []string{"Validation error"}}
	// rateLimited is the 429 of a rate limit.
	rateLimited = failure{http.StatusTooManyRequests, shapeLimited, []string{"too many requests, please try again later."}}
)

// param is a query-string parameter.
type param struct {
	name, kind, about string // kind is a JSON Schema type: string, integer, boolean
}

// listParams are the query parameters of a paginated list whose q searches
// the members named.
func listParams(searched string) []param {
	return []param{
		{"q", "string", "Only the objects whose " + searched + " contains this text (case-insensitive)."},
		{"page", "integer", "The page, from 1."},
		{"limit", "integer", "Objects per page, 1 to 100 (20 when absent)."},
	}
}
