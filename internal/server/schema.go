package server

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
)

// schema is the part of JSON Schema (2020-12, as OpenAPI 3.1 uses it) that
// the document needs.
type schema struct {
	Ref                  string             `json:"$ref,omitempty"`
	Type                 any                `json:"type,omitempty"` // a name, or a list of names with "null"
	Format               string             `json:"format,omitempty"`
	Description          string             `json:"description,omitempty"`
	Enum                 []any              `json:"enum,omitempty"`
	Properties           map[string]*schema `json:"properties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	Items                *schema            `json:"items,omitempty"`
	AdditionalProperties *schema            `json:"additionalProperties,omitempty"`
	AnyOf                []*schema          `json:"anyOf,omitempty"`
	Minimum              *int64             `json:"minimum,omitempty"`
	Maximum              *int64             `json:"maximum,omitempty"`
	MinLength            *int64             `json:"minLength,omitempty"`
	MaxLength            *int64             `json:"maxLength,omitempty"`
	MaxItems             *int64             `json:"maxItems,omitempty"`
	Pattern              string             `json:"pattern,omitempty"`
	// GoName renames the type oapi-codegen generates, where the schema's own
	// name would collide with one of its own types (its Client).
	GoName string `json:"x-go-name,omitempty"`
	// GoType is the Go type oapi-codegen gives a member, where the schema
	// alone would make it an interface{}: a free-form object is raw JSON
	// (encoding/json, which the generated code imports anyway).
	GoType string `json:"x-go-type,omitempty"`
}

func ref(name string) *schema { return &schema{Ref: "#/components/schemas/" + name} }

// enums are the string types whose values are a closed set; each is a
// component schema of its own.
var enums = map[reflect.Type]struct {
	name   string
	values []string
}{
	reflect.TypeFor[keybox.Role]():    {"Role", []string{string(keybox.RoleAdmin), string(keybox.RoleDeveloper)}},
	reflect.TypeFor[keybox.Status]():  {"LicenseStatus", []string{string(keybox.StatusPending), string(keybox.StatusActive), string(keybox.StatusExpired), string(keybox.StatusRevoked)}},
	reflect.TypeFor[keybox.Service](): {"Service", []string{string(keybox.ServiceHosting), string(keybox.ServiceDomain)}},
	reflect.TypeFor[providerID]():     {"ProviderID", []string{"google", "oidc"}},
	reflect.TypeFor[keybox.Scope]():   {"TokenScope", []string{string(keybox.ScopeRead), string(keybox.ScopeWrite)}},
	reflect.TypeFor[signupMode]():     {"SignupMode", []string{"open", "closed"}},
	reflect.TypeFor[verdictStatus](): {"VerdictStatus", []string{licensing.VerdictActive, licensing.VerdictInvalid, licensing.VerdictRevoked,
		licensing.VerdictPending, licensing.VerdictExpired, licensing.VerdictMachineMismatch, licensing.VerdictInstanceMismatch,
		licensing.VerdictEntitlementsMissing}},
}

// named are component schemas that no Go type has: the form of a string
// that rules check, which members refer to with openapi:"ref=Name" or
// openapi:"array=Name".
var named = map[string]*schema{
	"EntitlementCode": {Type: "string", Pattern: "^[a-z0-9][a-z0-9._-]{0,63}$",
		Description: "An entitlement: a feature a license unlocks (\"pro\", \"export\")."},
	"EventType": {Type: "string",
		Description: "An event type: client.created|updated|deleted, project.created|updated|deleted, " +
			"license.created|updated|revoked|restored|renewed|expired|deleted, activation.created|deleted|expired, " +
			"token.created|revoked, user.created|updated|password_changed|deleted, signing_key.rotated|revoked, " +
			"webhook.created|updated|deleted; \"*\" in a webhook's events for every type; webhook.test for a test message."},
	// Closed sets of values, but plain strings for generators: as enums their
	// values would collide with other enums' constants (pending, active).
	"ActorType":      {Type: "string", Description: "user, token, application or system."},
	"DeliveryStatus": {Type: "string", Description: "pending (due at nextAttemptAt), delivered (an answer in 2xx) or failed (given up)."},
}

// scalars are types whose wire form is not what reflection sees: they
// encode or decode themselves.
var scalars = map[reflect.Type]func() *schema{
	reflect.TypeFor[keybox.Time]():       func() *schema { return &schema{Type: "string", Format: "date-time"} },
	reflect.TypeFor[keybox.NullString](): func() *schema { return &schema{Type: []string{"string", "null"}} },
	// The request members that rules judge as sent (see licensing.Text).
	reflect.TypeFor[licensing.Text](): func() *schema { return &schema{Type: "string"} },
	reflect.TypeFor[licensing.Int]():  func() *schema { return &schema{Type: "integer"} },
}

// goNames rename the types that oapi-codegen would generate for a schema
// whose name is one of its own identifiers.
var goNames = map[string]string{"Client": "ClientObject"}

// schemas derives component schemas from Go types by reflection: json tags
// name the members, omitempty or a pointer makes one optional, enums and
// the scalars above are typed, and two struct tags say what reflection
// cannot see:
//
//	doc:"…"        the member's description
//	openapi:"…"    comma-separated: nullable, min=N, max=N, minLength=N,
//	               maxLength=N; ref=Name (the member is the component Name,
//	               e.g. a Text that holds a Role), array=Name (an array of
//	               them, e.g. a raw member), arrayOrOne=Name (an array of
//	               them or one alone), maxItems=N (of an array), object (a
//	               JSON object of any members), any (a free-form JSON value)
type schemas struct {
	components map[string]*schema
	named      map[string]reflect.Type
	errs       []string
}

func newSchemas() *schemas {
	b := &schemas{components: map[string]*schema{}, named: map[string]reflect.Type{}}
	for t, e := range enums {
		values := make([]any, len(e.values))
		for i, v := range e.values {
			values[i] = v
		}
		b.add(e.name, t, &schema{Type: "string", Enum: values})
	}
	for name, s := range named {
		c := *s // add names the copy; the schemas are shared by every server
		b.add(name, nil, &c)
	}
	return b
}

func (b *schemas) fail(format string, args ...any) {
	b.errs = append(b.errs, fmt.Sprintf(format, args...))
}

// add records a component, refusing two types under one name.
func (b *schemas) add(name string, t reflect.Type, s *schema) {
	if prev, ok := b.named[name]; ok && prev != t {
		b.fail("schema %s names both %v and %v", name, prev, t)
		return
	}
	s.GoName = goNames[name]
	b.named[name], b.components[name] = t, s
}

// of returns the schema of t: a reference for enums and structs, which are
// components, and the schema itself for the rest.
func (b *schemas) of(t reflect.Type) *schema {
	if e, ok := enums[t]; ok {
		return ref(e.name)
	}
	if f, ok := scalars[t]; ok {
		return f()
	}
	switch t.Kind() {
	case reflect.Pointer:
		return b.of(t.Elem())
	case reflect.String:
		if t.PkgPath() != "" {
			b.fail("%v: a named string type needs an entry in enums or scalars", t)
		}
		return &schema{Type: "string"}
	case reflect.Bool:
		return &schema{Type: "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &schema{Type: "integer"}
	case reflect.Float32, reflect.Float64:
		return &schema{Type: "number"}
	case reflect.Slice, reflect.Array:
		if t == reflect.TypeFor[json.RawMessage]() {
			b.fail("raw JSON has no schema: tag its member openapi:\"array=Name\", \"ref=Name\" or \"any\"")
			return &schema{}
		}
		return &schema{Type: "array", Items: b.of(t.Elem())}
	case reflect.Map:
		return &schema{Type: "object", AdditionalProperties: b.of(t.Elem())}
	case reflect.Struct:
		name := schemaName(t)
		if b.named[name] != t {
			c := &schema{}
			b.add(name, t, c) // first, so that a type that holds itself ends
			goName := c.GoName
			*c = *b.object(t, nil)
			c.GoName = goName
		}
		return ref(name)
	}
	b.fail("%v: no JSON Schema for its kind %v", t, t.Kind())
	return &schema{}
}

// object is the schema of a struct. required names the members a request
// must have; nil means an answer's: every member it always sends.
func (b *schemas) object(t reflect.Type, required []string) *schema {
	s := &schema{Type: "object", Properties: map[string]*schema{}}
	answer := required == nil
	b.members(t, s, answer)
	for _, name := range required {
		if s.Properties[name] == nil {
			b.fail("%v has no member %q to require", t, name)
		}
		s.Required = append(s.Required, name)
	}
	return s
}

// members adds t's fields to s as encoding/json sees them: embedded structs
// are flattened, "-" and unexported fields skipped.
func (b *schemas) members(t reflect.Type, s *schema, answer bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			b.members(f.Type, s, answer)
			continue
		}
		if name == "" {
			name = f.Name
		}
		p := b.member(t, f)
		optional := strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,")
		if f.Type.Kind() == reflect.Pointer && !optional {
			p = nullable(p)
		}
		s.Properties[name] = p
		if answer && !optional {
			s.Required = append(s.Required, name)
		}
	}
}

// member is the schema of one field, with what its tags say.
func (b *schemas) member(owner reflect.Type, f reflect.StructField) *schema {
	var p *schema
	opts := strings.Split(f.Tag.Get("openapi"), ",")
	for _, o := range opts {
		key, name, _ := strings.Cut(o, "=")
		switch key {
		case "array", "ref", "arrayOrOne":
			if _, known := b.components[name]; !known {
				b.fail("%v.%s: no component %s", owner, f.Name, name)
			}
			switch p = ref(name); key {
			case "array":
				p = &schema{Type: "array", Items: p}
			case "arrayOrOne":
				p = &schema{AnyOf: []*schema{{Type: "array", Items: ref(name)}, ref(name)}}
			}
		case "any":
			p = &schema{}
		case "object":
			p = &schema{Type: "object", GoType: "json.RawMessage"}
		}
	}
	if p == nil && f.Type == reflect.TypeFor[json.RawMessage]() {
		b.fail("%v.%s: raw JSON has no schema: tag it openapi:\"array=Name\", \"arrayOrOne=Name\", \"ref=Name\", \"object\" or \"any\"", owner, f.Name)
		p = &schema{}
	}
	if p == nil {
		p = b.of(f.Type)
	}
	p.Description = f.Tag.Get("doc")
	for _, o := range opts {
		key, value, _ := strings.Cut(o, "=")
		n, err := strconv.ParseInt(value, 10, 64)
		bound := &n
		switch key {
		case "", "array", "ref", "arrayOrOne", "any", "object":
			continue
		case "nullable":
			p = nullable(p)
			continue
		case "min":
			p.Minimum = bound
		case "max":
			p.Maximum = bound
		case "minLength":
			p.MinLength = bound
		case "maxLength":
			p.MaxLength = bound
		case "maxItems":
			p.MaxItems = bound
		default:
			b.fail("%v.%s: unknown openapi tag option %q", owner, f.Name, o)
			continue
		}
		if err != nil {
			b.fail("%v.%s: %s needs a number", owner, f.Name, key)
		}
	}
	return p
}

// nullable lets p be null as well.
func nullable(p *schema) *schema {
	if p.Ref != "" {
		return &schema{AnyOf: []*schema{p, {Type: "null"}}}
	}
	if name, ok := p.Type.(string); ok {
		p.Type = []string{name, "null"}
	}
	return p
}

// schemaName is the component name of a struct type: its Go name, starting
// with a capital.
func schemaName(t reflect.Type) string {
	r := []rune(t.Name())
	if len(r) == 0 {
		return ""
	}
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}
