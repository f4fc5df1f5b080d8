package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/keyboxhq/keybox"
)

// The OpenAPI 3.1 document is generated from the route table when it is
// first asked for: the routes, their access, request and answer types,
// summaries and errors are declared once, in routes.go, and the document
// cannot drift from them. Tests hold it to the answers the server really
// gives and validate it with an OpenAPI validator.

// openAPIDocument is the type of GET /openapi.json's answer: this document.
type openAPIDocument map[string]any

func (s *Server) handleOpenAPI(w http.ResponseWriter, _ *http.Request, _ keybox.User) error {
	h := w.Header()
	h["Content-Type"] = contentTypeJSON
	h.Set("Cache-Control", "public, max-age=300")
	doc, _ := openAPI() // New has built it
	_, _ = w.Write(doc)
	return nil
}

type document struct {
	OpenAPI    string                           `json:"openapi"`
	Info       docInfo                          `json:"info"`
	Servers    []map[string]string              `json:"servers"`
	Tags       []docTag                         `json:"tags"`
	Security   []map[string][]string            `json:"security"`
	Paths      map[string]map[string]*operation `json:"paths"`
	Components docComponents                    `json:"components"`
}

type docInfo struct {
	Title       string `json:"title"`
	Version     string `json:"version"`
	Description string `json:"description"`
}

type docTag struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

type docComponents struct {
	SecuritySchemes map[string]any     `json:"securitySchemes"`
	Headers         map[string]*header `json:"headers"`
	Schemas         map[string]*schema `json:"schemas"`
}

type operation struct {
	OperationID string                 `json:"operationId"`
	Summary     string                 `json:"summary"`
	Description string                 `json:"description,omitempty"`
	Tags        []string               `json:"tags"`
	Security    *[]map[string][]string `json:"security,omitempty"` // [] on public operations
	Parameters  []parameter            `json:"parameters,omitempty"`
	RequestBody *requestBody           `json:"requestBody,omitempty"`
	Responses   map[string]*response   `json:"responses"`
	// Access is who may call the operation: public, account (a login token
	// only), read or write.
	Access string `json:"x-keybox-access"`
}

type parameter struct {
	Name        string  `json:"name"`
	In          string  `json:"in"`
	Required    bool    `json:"required"`
	Description string  `json:"description"`
	Schema      *schema `json:"schema"`
}

type requestBody struct {
	Required bool                  `json:"required"`
	Content  map[string]*mediaType `json:"content"`
}

type mediaType struct {
	Schema  *schema `json:"schema"`
	Example any     `json:"example,omitempty"`
}

type response struct {
	Description string                `json:"description"`
	Headers     map[string]*header    `json:"headers,omitempty"`
	Content     map[string]*mediaType `json:"content,omitempty"`
}

type header struct {
	Ref         string  `json:"$ref,omitempty"`
	Description string  `json:"description,omitempty"`
	Schema      *schema `json:"schema,omitempty"`
}

// tags are declared at the top of the document, in this order.
var tags = []docTag{
	{tagOperations, "Health, readiness, metrics and this document."},
	{tagAccounts, "Signing up, logging in, and the accounts of an installation."},
	{tagClients, "A developer's customers."},
	{tagProjects, "The products each client bought."},
	{tagLicenses, "The keys issued for a project: their seats, revocation and renewal."},
	{tagDashboard, "The whole tree of a developer's objects, and the figures the dashboard charts."},
	{tagEvents, "Every change of state, recorded in its transaction, and the endpoints that receive them, signed, at least once."},
	{tagLicenseAPI, "Called by shipped applications to activate and validate their key. No login token: the key is the credential."},
}

const docDescription = `KeyBox is a self-hosted software licensing server, wire-compatible with the public KeyBox API.

JSON in and out. Ids are 24 lower-case hex characters; times are RFC 3339 UTC with milliseconds, except /validate's expiresAt (Unix epoch milliseconds). ` +
	`The management API takes a login token from POST /auth/login, or an API token from POST /tokens, as "Authorization: Bearer <token>". ` +
	`An API token acts as its owner within its scope: a read token calls the operations whose x-keybox-access is read, a write token those and the ones marked write, ` +
	`and neither calls those marked account (403 "Token scope does not allow this"). Every object belongs to one developer, and another developer's id answers exactly as a missing one (404).

An error is {"message": "<sentence>"}, with the members its response lists; each response names the sentences it may carry. ` +
	`A 500 is {"message": "Internal server error", "requestId"}, the id under which its cause is logged (also sent as X-Request-Id). ` +
	`Besides what each operation lists: an unknown path answers 404 "Not found", a known path with another method 405 "Method not allowed" (with Allow), ` +
	`and a body over 1 MiB 413 "Request body too large". ` +
	`A string that is not text (it holds NUL or is not valid UTF-8), in a body, a path or a query string, is refused with 400 "Validation error" naming where it was. ` +
	`When the database has no connection to spare, an operation that needs it answers 503 "Service temporarily unavailable" with Retry-After: try again shortly.`

// errorShapes are the component schemas of error bodies.
var errorShapes = map[string]*schema{
	shapeError: {Type: "object", Description: "An error: message is the sentence, one of those the response lists.",
		Properties: map[string]*schema{"message": {Type: "string"}}, Required: []string{"message"}},
	shapeValidation: {Type: "object", Description: "A request whose members are of the wrong type or form: each one named, with the reason.",
		Properties: map[string]*schema{
			"message": {Type: "string", Enum: []any{"Validation error"}},
			"errors":  {Type: "object", AdditionalProperties: &schema{Type: "string"}, Description: "The reason for each member in error, by name."},
			"details": {Type: "string", Description: "The reasons as one sentence."},
		}, Required: []string{"message", "errors", "details"}},
	shapeConflict: {Type: "object", Description: "A value already taken, or a change that would break a rule; field names the member.",
		Properties: map[string]*schema{"message": {Type: "string"}, "field": {Type: "string"}}, Required: []string{"message", "field"}},
	shapeInternal: {Type: "object", Description: "An unexpected failure; its cause is logged under requestId, never shown.",
		Properties: map[string]*schema{
			"message":   {Type: "string", Enum: []any{"Internal server error"}},
			"requestId": {Type: "string"},
		}, Required: []string{"message", "requestId"}},
	shapeLimited: {Type: "object", Description: "A rate limit refused the request; Retry-After says when to try again.",
		Properties: map[string]*schema{
			"success": {Type: "boolean", Enum: []any{false}},
			"errors":  {Type: "string", Enum: []any{"too many requests, please try again later."}},
			"status":  {Type: "integer", Enum: []any{429}},
		}, Required: []string{"success", "errors", "status"}},
	shapePublic: {Type: "object", Description: "A refusal of the license API.",
		Properties: map[string]*schema{"success": {Type: "boolean", Enum: []any{false}}, "message": {Type: "string"}},
		Required:   []string{"success", "message"}},
	shapeRefusedCheck: {Type: "object", Description: "A validation request that cannot be judged.",
		Properties: map[string]*schema{"valid": {Type: "boolean", Enum: []any{false}}, "message": {Type: "string"}},
		Required:   []string{"valid", "message"}},
	shapeUnavailable: {Type: "object", Description: "The database does not answer, or its schema is not current.",
		Properties: map[string]*schema{"status": {Type: "string", Enum: []any{"unavailable"}}, "message": {Type: "string"}},
		Required:   []string{"status", "message"}},
}

// More shapes of error bodies.
const (
	shapeInternal     = "InternalError"
	shapePublic       = "PublicError"       // {"success": false, "message"}
	shapeRefusedCheck = "RefusedValidation" // {"valid": false, "message"}
	shapeUnavailable  = "Unavailable"
)

// headers are the response headers the document refers to.
var headers = map[string]*header{
	"KeyBox-Signature": {Description: "The answer's signature, when the request carried a nonce (docs/offline-licensing.md).",
		Schema: &schema{Type: "string"}},
	"Location":            {Description: "Where the browser goes next.", Schema: &schema{Type: "string"}},
	"Retry-After":         {Description: "Seconds to wait before trying again: until a rate limit's window ends, or a moment for a busy database.", Schema: &schema{Type: "integer"}},
	"RateLimit-Limit":     {Description: "Requests allowed in the window.", Schema: &schema{Type: "integer"}},
	"RateLimit-Remaining": {Description: "Requests left in the window.", Schema: &schema{Type: "integer"}},
	"RateLimit-Reset":     {Description: "Seconds until the window ends.", Schema: &schema{Type: "integer"}},
}

// authFailures are the answers of a route that needs a login token, in the
// order the token is checked.
var authFailures = unauthorized("No token provided", "Invalid token format", "Unauthorized")

// scopeRefused is the answer to an API token on a route its scope does not
// reach: any route of account administration, and a write for a read token.
var scopeRefused = forbidden(errScopeRefused.Message)

var (
	// notText is the 400 of a string that is not text (it holds NUL or is
	// not valid UTF-8) in a body member, a path or query parameter, naming it.
	notText = invalidFields
	// busy is the 503 of a route whose database had no connection to spare
	// in time; Retry-After says when to try again.
	busy = failure{http.StatusServiceUnavailable, shapeError, []string{"Service temporarily unavailable"}}
)

// openAPI returns the document, built once: it describes the table, which
// is the same for every server. The table is code, so a mistake in it fails
// New (and so every test) rather than a request.
func openAPI() ([]byte, error) {
	built.once.Do(func() {
		doc, err := buildDocument((*Server)(nil).routes())
		if err == nil {
			built.doc, err = json.MarshalIndent(doc, "", "  ")
		}
		built.doc, built.err = append(built.doc, '\n'), err
	})
	return built.doc, built.err
}

var built struct {
	once sync.Once
	doc  []byte
	err  error
}

func buildDocument(table []route) (*document, error) {
	sc := newSchemas()
	for name, s := range errorShapes {
		c := *s // add names the copy; the shapes are shared by every server
		sc.add(name, nil, &c)
	}
	doc := &document{
		OpenAPI:  "3.1.0",
		Info:     docInfo{Title: "KeyBox", Version: "1.0.0", Description: docDescription},
		Servers:  []map[string]string{{"url": "/"}},
		Tags:     tags,
		Security: []map[string][]string{{"bearer": {}}},
		Paths:    map[string]map[string]*operation{},
		Components: docComponents{
			SecuritySchemes: map[string]any{"bearer": map[string]string{"type": "http", "scheme": "bearer",
				"description": "The login token of POST /auth/login, or an API token (kbx_…) of POST /tokens, which reaches only the operations its scope permits (x-keybox-access read, or read and write)."}},
			Headers: headers,
			Schemas: sc.components,
		},
	}
	ids := map[string]string{}
	for i := range table {
		rt := &table[i]
		if rt.page {
			continue
		}
		if prev, dup := ids[rt.id]; dup || rt.id == "" || rt.summary == "" {
			return nil, fmt.Errorf("openapi: %s needs its own operationId and a summary (operationId %q, also on %q)", rt.pattern, rt.id, prev)
		}
		ids[rt.id] = rt.pattern
		method, path := rt.methodPath()
		if doc.Paths[path] == nil {
			doc.Paths[path] = map[string]*operation{}
		}
		doc.Paths[path][strings.ToLower(method)] = describe(rt, path, sc)
	}
	if len(sc.errs) > 0 {
		return nil, fmt.Errorf("openapi: %s", strings.Join(sc.errs, "; "))
	}
	return doc, nil
}

// describe is the operation of one route.
func describe(rt *route, path string, sc *schemas) *operation {
	op := &operation{OperationID: rt.id, Summary: rt.summary, Description: rt.about, Tags: []string{rt.tag},
		Access: rt.access.String(), Responses: map[string]*response{}}
	if rt.access == AccessPublic {
		op.Security = &[]map[string][]string{}
	}
	for _, seg := range strings.Split(path, "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			name = strings.TrimSuffix(name, "}")
			op.Parameters = append(op.Parameters, parameter{Name: name, In: "path", Required: true,
				Description: pathParamAbout(path, name), Schema: &schema{Type: "string"}})
		}
	}
	for _, q := range rt.query {
		op.Parameters = append(op.Parameters, parameter{Name: q.name, In: "query", Description: q.about, Schema: &schema{Type: q.kind}})
	}
	if in := rt.handler.in; in != nil {
		name := strings.ToUpper(rt.id[:1]) + rt.id[1:] + "Request"
		body := sc.object(in, append([]string{}, rt.required...))
		sc.add(name, nil, body)
		op.RequestBody = &requestBody{Required: true, Content: map[string]*mediaType{
			"application/json": {Schema: ref(name), Example: exampleOf(in)},
		}}
	}
	op.Responses[fmt.Sprint(rt.successStatus())] = success(rt, sc)
	for _, f := range failuresOf(rt) {
		op.Responses[fmt.Sprint(f.status)] = f.response(rt)
	}
	return op
}

func (rt *route) successStatus() int {
	if rt.status == 0 {
		return http.StatusOK
	}
	return rt.status
}

// success is the response of a route that did what was asked.
func success(rt *route, sc *schemas) *response {
	r := &response{Description: http.StatusText(rt.successStatus()), Headers: map[string]*header{}}
	switch out := rt.handler.out; out {
	case reflect.TypeFor[metricsText]():
		r.Content = map[string]*mediaType{"text/plain": {Schema: &schema{Type: "string"}}}
	case reflect.TypeFor[openAPIDocument]():
		r.Content = map[string]*mediaType{"application/json": {Schema: &schema{Type: "object", Description: "An OpenAPI 3.1 document."}}}
	case reflect.TypeFor[browserRedirect]():
		r.Headers["Location"] = headerRef("Location")
	default:
		r.Content = map[string]*mediaType{"application/json": {Schema: sc.of(out), Example: exampleOf(out)}}
	}
	if rt.signed {
		r.Headers["KeyBox-Signature"] = headerRef("KeyBox-Signature")
	}
	// The license API's limits send their headers with every answer.
	if rt.tag == tagLicenseAPI && slices.ContainsFunc(rt.errors, func(f failure) bool { return f.shape == shapeLimited }) {
		for _, h := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
			r.Headers[h] = headerRef(h)
		}
	}
	if len(r.Headers) == 0 {
		r.Headers = nil
	}
	return r
}

func headerRef(name string) *header { return &header{Ref: "#/components/headers/" + name} }

// failuresOf is every error answer of a route: its own, and those of every
// route of its kind, merged by status.
func failuresOf(rt *route) []failure {
	all := slices.Clone(rt.errors)
	if rt.handler.in != nil {
		all = append(all, badRequest("Invalid JSON body"),
			failure{http.StatusRequestEntityTooLarge, shapeError, []string{"Request body too large"}})
	}
	if rt.handler.in != nil || rt.tag != tagLicenseAPI {
		all = append(all, notText) // in the body, the path or the query string
	}
	if rt.access != AccessPublic {
		all = append(all, authFailures)
	}
	if rt.access == AccessAccount || rt.access == AccessWrite {
		all = append(all, scopeRefused) // an API token whose scope does not reach it
	}
	if !rt.stateless && rt.handler.out != reflect.TypeFor[browserRedirect]() {
		all = append(all, busy) // a redirect says any failure in its Location
	}
	all = append(all, failure{http.StatusInternalServerError, shapeInternal, []string{"Internal server error"}})
	var merged []failure
	for _, f := range all {
		if f.shape == shapeError && f.status != http.StatusRequestEntityTooLarge {
			switch rt.envelope {
			case validFalse:
				f.shape = shapeRefusedCheck
			case successFalse:
				f.shape = shapePublic
			}
		}
		i := slices.IndexFunc(merged, func(m failure) bool { return m.status == f.status })
		if i < 0 {
			merged = append(merged, failure{status: f.status, shape: f.shape, messages: slices.Clone(f.messages)})
			continue
		}
		for _, m := range f.messages {
			if !slices.Contains(merged[i].messages, m) {
				merged[i].messages = append(merged[i].messages, m)
			}
		}
		if !strings.Contains(","+merged[i].shape+",", ","+f.shape+",") {
			merged[i].shape += "," + f.shape
		}
	}
	return merged
}

// response is the document's response for a merged failure, whose shape
// lists the component schemas its bodies may have.
func (f failure) response(rt *route) *response {
	quoted := make([]string, len(f.messages))
	for i, m := range f.messages {
		quoted[i] = fmt.Sprintf("%q", m)
	}
	r := &response{Description: http.StatusText(f.status) + ": " + strings.Join(quoted, ", ")}
	var s *schema
	if shapes := strings.Split(f.shape, ","); len(shapes) == 1 {
		s = ref(shapes[0])
	} else {
		s = &schema{}
		for _, name := range shapes {
			s.AnyOf = append(s.AnyOf, ref(name))
		}
	}
	r.Content = map[string]*mediaType{"application/json": {Schema: s}}
	r.Headers = map[string]*header{}
	switch f.status {
	case http.StatusTooManyRequests:
		for _, h := range []string{"Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
			r.Headers[h] = headerRef(h)
		}
	case http.StatusServiceUnavailable:
		if !rt.stateless {
			r.Headers["Retry-After"] = headerRef("Retry-After")
		}
	}
	// The license API signs its refusals for a nonce as it signs its
	// successes; a rate limit, a body too large and a 500 are answered
	// before, or apart from, that.
	switch f.status {
	case http.StatusTooManyRequests, http.StatusRequestEntityTooLarge, http.StatusInternalServerError:
	default:
		if rt.signed {
			r.Headers["KeyBox-Signature"] = headerRef("KeyBox-Signature")
		}
	}
	if len(r.Headers) == 0 {
		r.Headers = nil
	}
	return r
}

// pathParamAbout describes a path parameter: {key} is a license key, and
// {id} the id of what the segment before it names.
func pathParamAbout(path, name string) string {
	switch name {
	case "key":
		return "The license key, path-escaped."
	case "id":
		segs := strings.Split(path, "/")
		for i, seg := range segs {
			if seg == "{id}" && i > 0 {
				return "The " + strings.TrimSuffix(segs[i-1], "s") + "'s id."
			}
		}
	}
	return "The " + strings.TrimSuffix(name, "Id") + "'s id."
}
